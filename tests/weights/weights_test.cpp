// Weight files: save/read round trips and the errors load_state_dict reports. (Files written by
// Python — torchvision's layout, the legacy format — are covered by tests/models/parity_test.cpp.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/weights/file_name_hash.h"
#include "engine/weights/state_dict.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;

class Weights : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tlr_weights_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

// features.0: a conv, features.1: a batch norm, classifier: a linear layer.
struct Net : torch::nn::Module {
  explicit Net(std::int64_t channels = 16, bool with_classifier = true) {
    features = register_module("features", torch::nn::Sequential(torch::nn::Conv2d(3, channels, 3),
                                                                 torch::nn::BatchNorm2d(channels)));
    if (with_classifier) classifier = register_module("classifier", torch::nn::Linear(channels, 2));
  }
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear classifier{nullptr};
};

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST_F(Weights, RoundTripKeepsNamesOrderDtypesAndValues) {
  const NamedTensors tensors = {
      {"z.first", torch::randn({4, 3})},
      {"a.transposed", torch::arange(12, torch::kFloat).reshape({3, 4}).t()},
      {"scalar", torch::tensor(int64_t{42})},
      {"empty", torch::zeros({0, 5})},
      {"mask", torch::tensor({true, false, true})},
      {"half", torch::randn({2, 2}).to(torch::kHalf)},
      {"double", torch::randn({3}, torch::kDouble)},
      {"bytes", torch::arange(7, torch::kByte)},
      {"ints", torch::arange(-3, 3, torch::kInt)},
  };
  save_state_dict(path("w.pth"), tensors);
  const NamedTensors read = read_state_dict(path("w.pth"));
  ASSERT_EQ(read.size(), tensors.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].first, tensors[i].first);
    EXPECT_EQ(read[i].second.scalar_type(), tensors[i].second.scalar_type()) << read[i].first;
    EXPECT_EQ(read[i].second.sizes(), tensors[i].second.sizes()) << read[i].first;
    EXPECT_TRUE(torch::equal(read[i].second, tensors[i].second)) << read[i].first;
  }
  EXPECT_FALSE(fs::exists(path("w.pth.partial")));
}

TEST_F(Weights, EmptyStateDict) {
  save_state_dict(path("none.pth"), NamedTensors{});
  EXPECT_TRUE(read_state_dict(path("none.pth")).empty());
}

TEST_F(Weights, LoadCopiesParametersAndBuffers) {
  auto source = std::make_shared<Net>();
  {
    torch::NoGradGuard no_grad;
    for (auto& b : source->buffers()) b.fill_(3);
  }
  save_state_dict(path("net.pth"), *source);
  auto target = std::make_shared<Net>();
  load_state_dict(*target, path("net.pth"));
  auto want = source->named_parameters();
  for (const auto& p : target->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), want[p.key()])) << p.key();
    EXPECT_TRUE(p.value().requires_grad()) << p.key();
  }
  for (const auto& b : target->named_buffers()) EXPECT_EQ(b.value().max().item<double>(), 3);
}

TEST_F(Weights, MissingFile) {
  auto net = std::make_shared<Net>();
  EXPECT_THROW_MSG(
      load_state_dict(*net, path("absent.pth")), Error,
      path("absent.pth") + ": error: cannot open weight file: No such file or directory");
}

TEST_F(Weights, NotAWeightFile) {
  write_file(path("notes.txt"), "hello");
  EXPECT_THROW_MSG(read_state_dict(path("notes.txt")), Error,
                   path("notes.txt") +
                       ": error: not a PyTorch weight file (neither a torch.save zip archive nor a "
                       "legacy torch.save stream)");
  write_file(path("empty.pth"), "");
  EXPECT_THROW_MSG(read_state_dict(path("empty.pth")), Error,
                   path("empty.pth") + ": error: empty file");
  EXPECT_THROW_MSG(read_state_dict(dir_), Error, dir_ + ": error: not a regular file");
}

TEST_F(Weights, TruncatedOrCorruptFile) {
  save_state_dict(path("net.pth"), *std::make_shared<Net>());
  std::ifstream in(path("net.pth"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  for (std::size_t keep : {bytes.size() / 2, bytes.size() - 10, std::size_t{64}}) {
    write_file(path("cut.pth"), bytes.substr(0, keep));
    // Where the cut falls decides which reader (zip, pickle) notices it, and its words.
    EXPECT_THROW_THAT(read_state_dict(path("cut.pth")), Error,
                      ::testing::StartsWith(path("cut.pth") + ": error: "));
  }
  // A pickle stream that ends early.
  write_file(path("legacy.pth"), std::string("\x80\x02\x8a\x0al\xfc\x9c", 7));
  EXPECT_THROW_MSG(read_state_dict(path("legacy.pth")), Error,
                   path("legacy.pth") + ": error: unexpected end of file (truncated?)");
  // A pickle of something other than a state dict.
  write_file(path("list.pth"),
             std::string("\x80\x02\x8a\x0al\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15));
  EXPECT_THROW_THAT(read_state_dict(path("list.pth")), Error,
                    ::testing::StartsWith(path("list.pth") + ": error: "));
}

TEST_F(Weights, ShapeMismatchNamesTheFirstKeyAndBothShapes) {
  save_state_dict(path("vgg16.pth"), *std::make_shared<Net>(64));
  auto narrow = std::make_shared<Net>(16);
  EXPECT_THROW_MSG(
      load_state_dict(*narrow, path("vgg16.pth")), Error,
      path("vgg16.pth") +
          ": error: shape mismatch for 'features.0.weight': file has [64, 3, 3, 3], model "
          "has [16, 3, 3, 3]");
}

TEST_F(Weights, MissingKey) {
  save_state_dict(path("small.pth"), *std::make_shared<Net>(16, /*with_classifier=*/false));
  auto net = std::make_shared<Net>(16);
  EXPECT_THROW_MSG(
      load_state_dict(*net, path("small.pth")), Error,
      path("small.pth") +
          ": error: missing key 'classifier.weight': 2 of 9 model tensors are not in the "
          "file (wrong architecture?)");
}

TEST_F(Weights, UnexpectedKey) {
  save_state_dict(path("big.pth"), *std::make_shared<Net>(16));
  auto net = std::make_shared<Net>(16, /*with_classifier=*/false);
  EXPECT_THROW_MSG(
      load_state_dict(*net, path("big.pth")), Error,
      path("big.pth") +
          ": error: unexpected key 'classifier.weight': the model has no such tensor (to "
          "ignore it, skip 'classifier.')");
}

TEST_F(Weights, SkipPrefixesIgnoreBothSides) {
  auto source = std::make_shared<Net>(16);
  save_state_dict(path("full.pth"), *source);
  // The file's classifier is skipped...
  auto headless = std::make_shared<Net>(16, /*with_classifier=*/false);
  load_state_dict(*headless, path("full.pth"), {"classifier."});
  EXPECT_TRUE(torch::equal(headless->features->named_parameters()["0.weight"],
                           source->features->named_parameters()["0.weight"]));
  // ...and so is the model's: its classifier keeps its own (fresh) weights.
  save_state_dict(path("features.pth"), *headless);
  auto net = std::make_shared<Net>(16);
  const torch::Tensor fresh = net->classifier->weight.clone();
  load_state_dict(*net, path("features.pth"), {"classifier."});
  EXPECT_TRUE(torch::equal(net->classifier->weight, fresh));
  // A partial load of a mismatched part works when that part is skipped.
  auto other = std::make_shared<Net>(16);
  other->classifier = other->replace_module("classifier", torch::nn::Linear(16, 5));
  load_state_dict(*other, path("full.pth"), {"classifier."});
}

TEST_F(Weights, NumBatchesTrackedOnOneSideIsIgnored) {
  auto source = std::make_shared<Net>(16);
  NamedTensors without;
  for (const auto& p : source->named_parameters()) without.emplace_back(p.key(), p.value());
  for (const auto& b : source->named_buffers()) {
    if (b.key().find("num_batches_tracked") == std::string::npos) {
      without.emplace_back(b.key(), b.value());
    }
  }
  save_state_dict(path("old.pth"), without);
  auto net = std::make_shared<Net>(16);
  load_state_dict(*net, path("old.pth"));

  NamedTensors with_counter = without;
  with_counter.emplace_back("features.9.num_batches_tracked", torch::tensor(int64_t{5}));
  save_state_dict(path("counter.pth"), with_counter);
  load_state_dict(*net, path("counter.pth"));
}

TEST_F(Weights, FailedLoadChangesNothing) {
  auto source = std::make_shared<Net>(16);
  NamedTensors tensors;
  for (const auto& p : source->named_parameters()) tensors.emplace_back(p.key(), p.value());
  tensors.emplace_back("classifier.extra", torch::zeros({1}));
  save_state_dict(path("extra.pth"), tensors);
  auto net = std::make_shared<Net>(16);
  const torch::Tensor before = net->features->named_parameters()["0.weight"].clone();
  EXPECT_THROW_MSG(load_state_dict(*net, path("extra.pth")), Error,
                   path("extra.pth") +
                       ": error: missing key 'features.1.running_mean': 2 of 9 model tensors are "
                       "not in the file (wrong architecture?)");
  EXPECT_TRUE(torch::equal(net->features->named_parameters()["0.weight"], before));
}

TEST_F(Weights, ConvertsToTheModelsDtype) {
  auto source = std::make_shared<Net>(16);
  NamedTensors doubles;
  for (const auto& p : source->named_parameters())
    doubles.emplace_back(p.key(), p.value().to(torch::kDouble));
  for (const auto& b : source->named_buffers()) doubles.emplace_back(b.key(), b.value());
  save_state_dict(path("double.pth"), doubles);
  auto net = std::make_shared<Net>(16);
  load_state_dict(*net, path("double.pth"));
  EXPECT_EQ(net->classifier->weight.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(net->classifier->weight, source->classifier->weight));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// libtorch's zip reader does not check CRCs: a flipped byte inside a tensor used to load as a
// different weight. Every record read is checked against the central directory's CRC-32.
TEST_F(Weights, AFlippedByteInATensorFailsItsZipCrc) {
  const float marker = 1234.5f;
  save_state_dict(path("w.pth"),
                  NamedTensors{{"a", torch::ones({4})}, {"b", torch::full({64}, marker)}});
  std::string bytes = read_file(path("w.pth"));
  const std::string pattern(reinterpret_cast<const char*>(&marker), sizeof marker);
  const auto at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  ASSERT_NO_THROW(read_state_dict(path("w.pth")));
  bytes[at + 40] = static_cast<char>(bytes[at + 40] ^ 0x10);
  write_file(path("flipped.pth"), bytes);
  EXPECT_THROW_THAT(read_state_dict(path("flipped.pth")), Error,
                    ::testing::MatchesRegex(
                        ".*flipped.pth: error: record 'data/1' is corrupt \\(CRC-32 [0-9a-f]{8}, "
                        "the archive records [0-9a-f]{8}\\); get the file again"));
  // The pickle record is checked too.
  bytes = read_file(path("w.pth"));
  const auto key = bytes.find("torch");  // a global of data.pkl, the archive's first record
  ASSERT_NE(key, std::string::npos);
  bytes[key] = 'T';
  write_file(path("pickle.pth"), bytes);
  EXPECT_THROW_THAT(read_state_dict(path("pickle.pth")), Error,
                    ::testing::HasSubstr("record 'data.pkl' is corrupt"));
}

TEST_F(Weights, TorchvisionStyleNamesClaimASha256Prefix) {
  EXPECT_EQ(claimed_sha256_prefix("/w/vgg16-397923af.pth"), "397923af");
  EXPECT_EQ(claimed_sha256_prefix("resnet50-0676ba61.pth"), "0676ba61");
  EXPECT_EQ(claimed_sha256_prefix("alexnet-owt-7be5be79.pth"), "7be5be79");
  EXPECT_EQ(claimed_sha256_prefix("weights-20240101.pth"), "") << "a date is not a digest";
  EXPECT_EQ(claimed_sha256_prefix("resnet-18.pth"), "");
  EXPECT_EQ(claimed_sha256_prefix("vgg16.pth"), "");
  EXPECT_EQ(claimed_sha256_prefix("vgg16-397923AF.pth"), "") << "torchvision's are lower case";
}

TEST_F(Weights, AFileWhoseSha256IsNotTheOneItsNameClaimsIsRefusedNamingBoth) {
  save_state_dict(path("w.pth"), NamedTensors{{"a", torch::ones({4})}});
  const std::string digest = sha256_of_file(path("w.pth"));
  EXPECT_NO_THROW(check_claimed_sha256(path("net.pth"), digest)) << "no claim, nothing to check";
  // The shortest prefix of 8 or more digits that holds a letter (what a claim needs).
  std::size_t n = 8;
  while (n < digest.size() && digest.substr(0, n).find_first_of("abcdef") == std::string::npos) ++n;
  const std::string right = path("net-" + digest.substr(0, n) + ".pth");
  ASSERT_FALSE(claimed_sha256_prefix(right).empty());
  EXPECT_NO_THROW(check_claimed_sha256(right, digest));
  const std::string wrong = path("vgg16-397923af.pth");
  EXPECT_THROW_MSG(check_claimed_sha256(wrong, digest), Error,
                   wrong + ": error: its sha256 is " + digest +
                       ", but its name says it starts with 397923af: the file is damaged or not "
                       "the one published under that name; get it again");
}

TEST_F(Weights, Sha256OfFile) {
  write_file(path("abc"), "abc");
  EXPECT_EQ(sha256_of_file(path("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace tlr
