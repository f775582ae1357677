#include "engine/util/sha256.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace {

// FIPS 180-4 / NIST example vectors.
TEST(Sha256, EmptyInput) {
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Abc) {
  EXPECT_EQ(sha256_hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockMessage) {
  const std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha256_hex(text.data(), text.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAsInUnevenPieces) {
  // Pieces of 1..97 bytes cross every buffer boundary case of update().
  Sha256 hasher;
  const std::string a(97, 'a');
  std::size_t left = 1000000;
  for (std::size_t piece = 1; left > 0; piece = piece % 97 + 1) {
    const std::size_t n = std::min(piece, left);
    hasher.update(a.data(), n);
    left -= n;
  }
  EXPECT_EQ(hasher.hex_digest(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  // 55, 56 and 64 bytes: the last block with and without room for the length.
  EXPECT_EQ(sha256_hex(std::string(55, 'a').data(), 55),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(sha256_hex(std::string(56, 'a').data(), 56),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(sha256_hex(std::string(64, 'a').data(), 64),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, FileMatchesMemory) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("tlr_sha256_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "data.bin").string();
  std::string content;
  for (int i = 0; i < 200000; ++i) content.push_back(static_cast<char>(i * 31));
  std::ofstream(path, std::ios::binary) << content;
  EXPECT_EQ(sha256_file(path), sha256_hex(content.data(), content.size()));
  std::filesystem::remove_all(dir);
}

TEST(Sha256, MissingFileThrowsNamingIt) {
  EXPECT_THROW_MSG(sha256_file("/nonexistent/tlr/file.bin"), Error,
                   "/nonexistent/tlr/file.bin: error: cannot read file");
}

}  // namespace
}  // namespace tlr
