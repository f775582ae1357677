// Faults of the machine and of the files the runner keeps (issue 16): a corrupted entry of each
// cache kind is noticed, said in one warning line and rebuilt, to the numbers a clean run gives;
// a kill -9 at each file write (between the data and its rename into place) leaves nothing a
// rerun trips on; a results folder on a read-only filesystem can still be reported, and a run
// there is refused in one line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/cell_numbers.h"
#include "e2e/e2e_support.h"
#include "e2e/runner_process.h"
#include "e2e/tmpfs_mount.h"
#include "engine/util/sha256.h"

namespace {

namespace fs = std::filesystem;
using tlr::testing::describe;
using tlr::testing::Outcome;
using tlr::testing::runner;
using tlr::testing::TempDir;
using tlr::testing::write_text;
using namespace tlr::testing::e2e;  // NOLINT(google-build-using-namespace): the shared helpers

// A publisher and a feature extractor loading its weights, on a small image folder: every cache
// kind is written (decoded images, features, published weights).
void write_experiment(const TempDir& tmp) {
  write_image_folder(tmp / "data", {"train", "val", "test"}, {6, 2, 2}, {"cat", "dog"});
  write_text(tmp / "faults.yaml",
             "experiment: faults\n"
             "seed: 5\n"
             "defaults:\n"
             "  data:\n"
             "    dataset: {plugin: image_folder, params: {root: data}}\n"
             "    split: {use_subsets: true}\n"
             "    input: {size: [32, 32], channels: 3}\n"
             "  backbone: {plugin: vgg, params: {variant: vgg11, width: 0.125}}\n"
             "  head: {plugin: dense, params: {units: [8], dropout: 0}}\n"
             "  training: {batch_size: 4, epochs: 2}\n"
             "models:\n"
             "  - name: source\n"
             "    strategy: {plugin: pretrain}\n"
             "    publish: source_weights\n"
             "  - name: features\n"
             "    backbone: {weights: {published: source_weights}}\n"
             "    strategy: {plugin: feature_extraction, params: {cut_after: block3_pool}}\n");
}

std::vector<std::string> run_args(const TempDir& tmp, const fs::path& results) {
  return {(tmp / "faults.yaml").string(), "--results", results.string(), "--threads", "1"};
}

// The files under `dir` (recursively) whose path contains `part`.
std::vector<fs::path> files_under(const fs::path& dir, const std::string& part) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().string().find(part) != std::string::npos) {
      out.push_back(entry.path());
    }
  }
  return out;
}

// Flips one bit in the middle of the file (its size and name stay).
void flip_a_byte(const fs::path& file) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  const auto size = static_cast<std::streamoff>(fs::file_size(file));
  io.seekg(size / 2);
  char c = 0;
  io.get(c);
  io.seekp(size / 2);
  io.put(static_cast<char>(c ^ 0x04));
}

class Faults : public ::testing::Test {
 protected:
  // The clean run every faulted run is compared with, made once.
  static void SetUpTestSuite() {
    reference_dir_ = new TempDir();
    write_experiment(*reference_dir_);
    const fs::path results = reference_dir_->path() / "results";
    const Outcome o = runner(run_args(*reference_dir_, results), reference_dir_->path());
    ASSERT_EQ(o.exit_code, 0) << describe(o);
    reference_ =
        new std::map<std::string, CellNumbers>(numbers_of(results / "results.db", "faults"));
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete reference_dir_;
  }
  static TempDir* reference_dir_;
  static std::map<std::string, CellNumbers>* reference_;
};

TempDir* Faults::reference_dir_ = nullptr;
std::map<std::string, CellNumbers>* Faults::reference_ = nullptr;

// Published weights are checked against the sha256 their run recorded: a damaged file makes the
// publisher run again (it used to be loaded as it was, or fail every later run if truncated).
TEST_F(Faults, DamagedPublishedWeightsAreRepublishedWithOneWarning) {
  ASSERT_NE(reference_, nullptr);
  TempDir tmp;
  write_experiment(tmp);
  const fs::path results = tmp / "results";
  const fs::path db = results / "results.db";
  ASSERT_EQ(runner(run_args(tmp, results), tmp.path()).exit_code, 0);
  const std::vector<fs::path> published = files_under(results / "cache" / "weights", ".pt");
  ASSERT_EQ(published.size(), 1u);
  for (const bool truncate : {false, true}) {
    SCOPED_TRACE(truncate ? "truncated" : "a flipped byte");
    if (truncate) {
      fs::resize_file(published[0], fs::file_size(published[0]) / 2);
    } else {
      flip_a_byte(published[0]);
    }
    const Outcome o = runner(run_args(tmp, results), tmp.path());
    ASSERT_EQ(o.exit_code, 0) << describe(o);
    EXPECT_EQ(count_of(o.err, "warning: "), 1u) << o.err;
    EXPECT_NE(o.err.find("source: completed as run "), std::string::npos) << o.err;
    EXPECT_NE(o.err.find(published[0].string() + " are not the file it recorded (sha256 "),
              std::string::npos)
        << o.err;
    EXPECT_NE(o.err.find("): truncated or altered; running it again"), std::string::npos) << o.err;
    expect_same_numbers(*reference_, numbers_of(db, "faults"));
    // The new file is the one the new run recorded.
    EXPECT_EQ(query(db,
                    "SELECT sha256 FROM artifacts WHERE kind = 'published_weights' "
                    "ORDER BY run_id DESC LIMIT 1"),
              tlr::sha256_file(published[0].string()));
  }
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs WHERE model = 'source'"), "3");
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs WHERE model = 'features'"), "1")
      << "the loader's identity names the weights' content, not their file: it stays done";
}

// The feature cache checks its sha256 and the image cache its checksums: a flipped byte in any
// entry is one warning line, the entry is rebuilt, and the numbers are a clean run's.
TEST_F(Faults, ACorruptedFeatureOrImageCacheEntryIsRebuiltWithOneWarningEach) {
  ASSERT_NE(reference_, nullptr);
  TempDir tmp;
  write_experiment(tmp);
  const fs::path results = tmp / "results";
  ASSERT_EQ(runner(run_args(tmp, results), tmp.path()).exit_code, 0);
  const std::vector<fs::path> features = files_under(results / "cache" / "features", "");
  std::vector<fs::path> images;
  for (const fs::path& f : files_under(results / "cache", "")) {
    const std::string p = f.string();
    if (p.find("/features/") == std::string::npos && p.find("/weights/") == std::string::npos) {
      images.push_back(f);
    }
  }
  ASSERT_FALSE(features.empty());
  ASSERT_FALSE(images.empty());
  for (const fs::path& f : features) flip_a_byte(f);
  for (const fs::path& f : images) flip_a_byte(f);
  std::vector<std::string> args = run_args(tmp, results);
  args.push_back("--rerun");  // every model trains again, reading the caches
  const Outcome o = runner(args, tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  for (const fs::path& f : features) {
    EXPECT_EQ(count_of(o.err, f.string() + ": warning: "), 1u) << f << "\n" << o.err;
  }
  for (const fs::path& f : images) {
    EXPECT_EQ(count_of(o.err, f.string() + ": warning: "), 1u) << f << "\n" << o.err;
  }
  expect_same_numbers(*reference_, numbers_of(results / "results.db", "faults"));
  // Rebuilt: a further run reads them without a warning.
  const Outcome again = runner(args, tmp.path());
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(count_of(again.err, "warning: "), 0u) << again.err;
}

// A JPEG with corrupt data libjpeg repairs (stray bytes between two segments, as photo
// collections often have before the end marker) is used, and said once per model in one line naming
// the file, also when the images are read from the cache. libjpeg's own unlocated line no longer
// reaches stderr.
TEST_F(Faults, ARepairedJpegIsUsedWithOneLocatedWarningPerModel) {
  TempDir tmp;
  write_experiment(tmp);
  const fs::path photo = tmp / "data" / "train" / "dog" / "3.jpg";
  const std::string line =
      photo.string() + ": warning: " + add_stray_bytes_to_jpeg(photo) + "; decoded anyway\n";
  const fs::path results = tmp / "results";
  const Outcome o = runner(run_args(tmp, results), tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  EXPECT_EQ(count_of(o.err, line), 2u) << o.err;  // source and features each use the train split
  EXPECT_EQ(count_of(o.err, "Corrupt JPEG"), 0u) << o.err;
  const fs::path db = results / "results.db";
  EXPECT_EQ(query(db, "SELECT group_concat(value) FROM metrics WHERE name = 'warned_images/train'"),
            "1.0,1.0");
  EXPECT_EQ(query(db, "SELECT group_concat(value) FROM metrics WHERE name = 'samples/train'"),
            "12.0,12.0")
      << "the repaired image is kept";

  std::vector<std::string> args = run_args(tmp, results);
  args.push_back("--rerun");  // the split images come from the cache this time
  const Outcome again = runner(args, tmp.path());
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(count_of(again.err, line), 2u) << again.err;
}

// kill -9 between a file's data and its rename into place, at every file the run writes (image
// caches, feature caches, published weights, model files, report): the rerun finishes with a
// clean run's numbers, no temporary file is left, and every artifact row names a file with its
// recorded sha256.
TEST_F(Faults, AKillDuringAnyFileWriteLeavesNothingARerunTripsOn) {
  ASSERT_NE(reference_, nullptr);
  int killed_at = 0;
  for (int n = 1; n <= 40; ++n) {
    SCOPED_TRACE("killed at file write " + std::to_string(n));
    TempDir tmp;
    write_experiment(tmp);
    const fs::path results = tmp / "results";
    int status = 0;
    {
      BackgroundRunner killed(run_args(tmp, results), tmp.path(),
                              {"TLR_FAULT=file_written:" + std::to_string(n)}, "killed");
      status = killed.wait();
      if (status == 0) break;  // the run writes fewer files than n: every write was covered
      ASSERT_EQ(status, -SIGKILL) << killed.output();
    }
    ++killed_at;
    const Outcome rerun = runner(run_args(tmp, results), tmp.path());
    ASSERT_EQ(rerun.exit_code, 0) << describe(rerun);
    for (const auto& entry : fs::recursive_directory_iterator(results)) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos)
          << "left behind: " << entry.path();
    }
    const fs::path db = results / "results.db";
    EXPECT_EQ(query(db, "PRAGMA integrity_check"), "ok");
    expect_same_numbers(*reference_, numbers_of(db, "faults"));
    std::stringstream rows(query(db,
                                 "SELECT group_concat(path || ' ' || sha256, ' ') FROM "
                                 "artifacts WHERE run_id IN (SELECT id FROM runs WHERE "
                                 "status = 'completed')"));
    std::string path, sha;
    while (rows >> path >> sha) {
      const fs::path at = fs::path(path).is_absolute() ? fs::path(path) : tmp / path;
      ASSERT_TRUE(fs::exists(at)) << path;
      EXPECT_EQ(tlr::sha256_file(at.string()), sha) << path;
    }
  }
  EXPECT_GE(killed_at, 8) << "image caches, features, weights, models and report";
}

// The reading commands open a results.db they cannot write as a snapshot (they used to fail:
// WAL needs its -shm file next to the database); a run there is refused in one line, exit 2.
TEST_F(Faults, AResultsFolderOnAReadOnlyFilesystemIsReadableAndARunThereIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  TempDir tmp;
  write_experiment(tmp);
  const fs::path disk = tmp / "disk";
  TmpfsMount mounted(disk, "64m");
  if (!mounted.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << mounted.problem();
  const fs::path results = disk / "results";
  const fs::path db = results / "results.db";
  ASSERT_EQ(runner(run_args(tmp, results), tmp.path()).exit_code, 0);
  const Outcome before = runner({"report", "--db", db.string()}, tmp.path());
  ASSERT_EQ(before.exit_code, 0) << describe(before);
  ASSERT_TRUE(mounted.make_read_only()) << std::strerror(errno);

  const Outcome report = runner({"report", "--db", db.string()}, tmp.path());
  EXPECT_EQ(report.exit_code, 0) << describe(report);
  EXPECT_EQ(report.out, before.out);
  const Outcome status =
      runner({"status", (tmp / "faults.yaml").string(), "--results", results.string()}, tmp.path());
  EXPECT_EQ(status.exit_code, 0) << describe(status);
  EXPECT_NE(status.out.find("features"), std::string::npos) << describe(status);
  const Outcome exported = runner({"export", "--db", db.string(), "--model", "features", "--out",
                                   (tmp / "exported.pth").string()},
                                  tmp.path());
  EXPECT_EQ(exported.exit_code, 0) << describe(exported);

  const Outcome run = runner(run_args(tmp, results), tmp.path());
  EXPECT_EQ(run.exit_code, 2) << describe(run);
  EXPECT_EQ(count_of(run.err, "\n"), 1u) << describe(run);
  EXPECT_EQ(run.err.rfind(db.string() + ": error: ", 0), 0u) << describe(run);
}

}  // namespace
