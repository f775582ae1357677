// idx: MNIST-style idx files (Fashion-MNIST by default, as Debian's dataset-fashion-mnist installs
// them), raw or gzip-compressed. Labels and the images' header are read and checked when the
// dataset is made; the pixels when the first image is asked for (listing a dataset for a cell's
// identity, as runner status and submit do for every cell, needs no pixels).
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "../common/dataset_support.h"
#include "tlr/dataset.h"
#include "tlr/error.h"
#include "tlr/params.h"
#include "tlr/plugin.h"
#include "tlr/registry.h"

namespace tlr::datasets {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "root": {
      "type": "string",
      "x-tlr-path": "directory",
      "default": "/usr/share/datasets/fashion-mnist",
      "description": "folder holding the idx files; relative to the experiment file"
    },
    "classes": {
      "type": "array",
      "items": {"type": "string"},
      "minItems": 1,
      "default": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"],
      "description": "class names by label value (Fashion-MNIST's by default; )json"
                                R"json(0..9 for MNIST)"
    },
    "train_images": {
      "type": "string",
      "default": "train-images-idx3-ubyte",
      "description": "training images (idx3); when absent, the name with .gz added )json"
                                R"json((or removed) is tried"
    },
    "train_labels": {
      "type": "string",
      "default": "train-labels-idx1-ubyte",
      "description": "training labels (idx1), raw or .gz"
    },
    "test_images": {
      "type": "string",
      "default": "t10k-images-idx3-ubyte",
      "description": "test images (idx3), raw or .gz; empty with test_labels: )json"
                                R"json(no test subset"
    },
    "test_labels": {
      "type": "string",
      "default": "t10k-labels-idx1-ubyte",
      "description": "test labels (idx1), raw or .gz"
    }
  }
})json";

constexpr std::uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension

std::uint32_t big_endian(const std::vector<unsigned char>& bytes, std::size_t at) {
  return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
         (std::uint32_t{bytes[at + 2]} << 8) | std::uint32_t{bytes[at + 3]};
}

std::string hex32(std::uint32_t v) {
  char out[11];
  std::snprintf(out, sizeof out, "0x%08x", v);
  return out;
}

// The file `name` under `root`, or the same name with ".gz" added (or removed) when that exists.
fs::path find_file(const fs::path& root, const std::string& name) {
  const bool gz = name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0;
  const std::string other = gz ? name.substr(0, name.size() - 3) : name + ".gz";
  std::error_code ec;
  if (fs::is_regular_file(root / name, ec)) return root / name;
  if (fs::is_regular_file(root / other, ec)) return root / other;
  throw DataError((root / name).string(), "no such file (nor " + other + ")");
}

bool gzipped(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  return magic[0] == 0x1f && magic[1] == 0x8b;
}

// The size of a file's content, gunzipped: for gzip, the ISIZE field of its trailer (the size
// modulo 2^32, exact for the single-member files idx data comes in, all far below 4 GB).
std::uintmax_t content_size(const fs::path& path) {
  std::error_code ec;
  const std::uintmax_t bytes = fs::file_size(path, ec);
  if (ec) throw DataError(path.string(), "cannot read file size: " + ec.message());
  if (!gzipped(path) || bytes < 18) return bytes;
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(bytes - 4));
  unsigned char isize[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(isize), 4);
  return std::uintmax_t{isize[0]} | (std::uintmax_t{isize[1]} << 8) |
         (std::uintmax_t{isize[2]} << 16) | (std::uintmax_t{isize[3]} << 24);
}

// The content of a file, gunzipped when it starts with the gzip magic bytes 1f 8b: all of it, or
// its first `limit` bytes.
std::vector<unsigned char> read_all(const fs::path& path, std::size_t limit = SIZE_MAX) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string(), "cannot open file");
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  if (magic[0] != 0x1f || magic[1] != 0x8b) {
    in.clear();
    in.seekg(0);
    if (limit != SIZE_MAX) {
      std::vector<unsigned char> head(limit);
      in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(limit));
      head.resize(static_cast<std::size_t>(in.gcount()));
      return head;
    }
    return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
  }
  in.close();

  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) throw DataError(path.string(), "cannot open gzip file");
  gzbuffer(gz, 1 << 17);
  std::vector<unsigned char> out;
  unsigned char chunk[1 << 16];
  for (;;) {
    const int n = gzread(gz, chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(gz, &code);
      gzclose(gz);
      throw DataError(path.string(), "corrupt gzip data: " + message);
    }
    if (n == 0) break;
    out.insert(out.end(), chunk, chunk + n);
    if (out.size() >= limit) {
      out.resize(limit);
      break;
    }
  }
  gzclose(gz);
  return out;
}

// One images file and its labels file.
struct Part {
  std::string subset;       // "train" or "test"
  std::string images_name;  // as configured: the prefix of every id
  fs::path images_path;
  std::vector<unsigned char> labels;  // the whole idx1 file; labels start at byte 8
  int rows = 0, cols = 0;
  std::size_t count = 0;
  // The whole idx3 file (pixels start at byte 16), read on first use from any thread.
  std::unique_ptr<std::once_flag> read = std::make_unique<std::once_flag>();
  std::vector<unsigned char> images;
};

class Idx final : public Dataset {
 public:
  Idx(const Params& params, const Context& context)
      : root_(context.resolve(params.string("root"))) {
    classes_ = params.strings("classes");
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) throw DataError(root_.string(), "no such directory");

    Fnv64 hash;
    hash.text("idx");
    hash.text(params.json());
    const struct {
      const char* subset;
      std::string images, labels;
    } wanted[] = {
        {"train", params.string("train_images"), params.string("train_labels")},
        {"test", params.string("test_images"), params.string("test_labels")},
    };
    for (const auto& w : wanted) {
      if (w.images.empty() && w.labels.empty()) continue;
      if (w.images.empty() || w.labels.empty()) {
        throw Error(std::string("idx: error: parameters '") + w.subset + "_images' and '" +
                    w.subset + "_labels' must both be set or both be empty");
      }
      const fs::path images_path = find_file(root_, w.images);
      const fs::path labels_path = find_file(root_, w.labels);
      hash.text(images_path.filename().string());
      hash_file_stamp(hash, images_path);
      hash.text(labels_path.filename().string());
      hash_file_stamp(hash, labels_path);
      parts_.push_back(load(w.subset, w.images, images_path, labels_path));
    }
    if (parts_.empty()) throw Error("idx: error: no images: every file name parameter is empty");
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      for (std::size_t k = 0; k < parts_[p].count; ++k) samples_.push_back({p, k});
    }
    fingerprint_ = hash.hex();
  }

  std::vector<std::string> classes() const override { return classes_; }
  std::size_t size() const override { return samples_.size(); }
  int label(std::size_t i) const override {
    const Sample& s = samples_.at(i);
    return parts_[s.part].labels[8 + s.index];
  }
  cv::Mat image(std::size_t i) const override {
    const Sample& s = samples_.at(i);
    Part& part = parts_[s.part];
    // A read that throws leaves the flag unset: the next image() tries again and throws again.
    std::call_once(*part.read, [&] {
      std::vector<unsigned char> bytes = read_all(part.images_path);
      const std::size_t expected = 16 + part.count * static_cast<std::size_t>(part.rows) *
                                            static_cast<std::size_t>(part.cols);
      if (bytes.size() != expected) {
        throw DataError(part.images_path.string(), std::to_string(bytes.size()) +
                                                       " bytes, the header's " +
                                                       std::to_string(part.count) +
                                                       " images need " + std::to_string(expected));
      }
      part.images = std::move(bytes);
    });
    const std::size_t pixels = static_cast<std::size_t>(part.rows) * part.cols;
    return gray_to_rgb(part.images.data() + 16 + s.index * pixels, part.rows, part.cols);
  }
  std::string id(std::size_t i) const override {
    const Sample& s = samples_.at(i);
    return parts_[s.part].images_name + "#" + std::to_string(s.index);
  }
  std::string subset(std::size_t i) const override { return parts_[samples_.at(i).part].subset; }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  struct Sample {
    std::size_t part;
    std::size_t index;
  };

  Part load(const std::string& subset, const std::string& images_name, const fs::path& images_path,
            const fs::path& labels_path) const {
    Part part;
    part.subset = subset;
    part.images_name = images_name;
    part.images_path = images_path;
    const std::vector<unsigned char> images = read_all(images_path, 16);  // the header
    part.labels = read_all(labels_path);
    const auto& labels = part.labels;
    if (images.size() < 16 || big_endian(images, 0) != kImagesMagic) {
      throw DataError(images_path.string(), "not an idx image file: magic " +
                                                (images.size() < 4 ? std::string("missing")
                                                                   : hex32(big_endian(images, 0))) +
                                                ", expected " + hex32(kImagesMagic));
    }
    if (labels.size() < 8 || big_endian(labels, 0) != kLabelsMagic) {
      throw DataError(labels_path.string(), "not an idx label file: magic " +
                                                (labels.size() < 4 ? std::string("missing")
                                                                   : hex32(big_endian(labels, 0))) +
                                                ", expected " + hex32(kLabelsMagic));
    }
    part.count = big_endian(images, 4);
    part.rows = static_cast<int>(big_endian(images, 8));
    part.cols = static_cast<int>(big_endian(images, 12));
    if (part.rows <= 0 || part.cols <= 0 || part.rows > 65535 || part.cols > 65535) {
      throw DataError(images_path.string(), "bad image size " + std::to_string(part.rows) + "x" +
                                                std::to_string(part.cols) + " in the header");
    }
    const std::size_t expected =
        16 + part.count * static_cast<std::size_t>(part.rows) * static_cast<std::size_t>(part.cols);
    const std::uintmax_t size = content_size(images_path);
    if (size != expected) {
      throw DataError(images_path.string(),
                      std::to_string(size) + " bytes, the header's " + std::to_string(part.count) +
                          " images of " + std::to_string(part.rows) + "x" +
                          std::to_string(part.cols) + " need " + std::to_string(expected));
    }
    const std::size_t label_count = big_endian(labels, 4);
    if (labels.size() != 8 + label_count) {
      throw DataError(labels_path.string(), std::to_string(labels.size()) +
                                                " bytes, the header's " +
                                                std::to_string(label_count) + " labels need " +
                                                std::to_string(8 + label_count));
    }
    if (label_count != part.count) {
      throw DataError(labels_path.string(), std::to_string(label_count) + " labels, but " +
                                                images_path.filename().string() + " holds " +
                                                std::to_string(part.count) + " images");
    }
    for (std::size_t k = 0; k < label_count; ++k) {
      if (labels[8 + k] >= classes_.size()) {
        throw DataError(labels_path.string(), "label " + std::to_string(labels[8 + k]) +
                                                  " of sample " + std::to_string(k) +
                                                  " is out of range for " +
                                                  std::to_string(classes_.size()) + " classes");
      }
    }
    return part;
  }

  fs::path root_;
  std::vector<std::string> classes_;
  mutable std::vector<Part> parts_;  // mutable: their pixels are read on first use
  std::vector<Sample> samples_;
  std::string fingerprint_;
};

void register_components(Registry& registry) {
  register_dataset<Idx>(registry, "idx", kSchema,
                        "MNIST-style idx files (Fashion-MNIST by default), raw or gzip");
}

}  // namespace
}  // namespace tlr::datasets

TLR_PLUGIN("idx", "0.1.0", tlr::datasets::register_components)
