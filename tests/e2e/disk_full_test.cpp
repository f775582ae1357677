// A full disk, for real: the results folder on a small tmpfs (mounting needs root; the test is
// skipped with a message otherwise). At each size the run fails at a different write (image
// cache, feature cache, checkpoint, model.pth, report); at every size the runner must not crash
// (it used to abort with SIGABRT: libtorch's zip writer threw from its destructor), must leave no
// temporary file, and must leave a consistent database: every run completed or failed with its
// reason, and every artifact row pointing at a file with the recorded sha256.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

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

TEST(DiskFull, EverySizeFailsCleanlyWithoutACrashOrATemporaryFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  TempDir tmp;
  write_image_folder(tmp / "data", {"train", "val", "test"}, {8, 4, 4}, {"cat", "dog"});
  const fs::path file = tmp / "disk.yaml";
  write_text(file,
             "experiment: disk\n"
             "seed: 7\n"
             "defaults:\n"
             "  data:\n"
             "    dataset: {plugin: image_folder, params: {root: data}}\n"
             "    split: {use_subsets: true}\n"
             "    input: {size: [32, 32], channels: 3}\n"
             "  head: {plugin: dense, params: {units: [16]}}\n"
             "  training: {batch_size: 8, epochs: 2}\n"
             "models:\n"
             "  - name: cnn\n"
             "    backbone: {plugin: basic_cnn, params: {widths: [8, 16]}}\n"
             "    strategy: {plugin: scratch}\n"
             "  - name: features\n"
             "    backbone: {plugin: vgg, params: {variant: vgg11, width: 0.125}}\n"
             "    strategy: {plugin: feature_extraction, params: {cut_after: block3_pool}}\n");
  int completed = 0, failed = 0;
  for (const std::string size : {"16k", "64k", "160k", "400k", "1m", "4m"}) {
    SCOPED_TRACE("tmpfs size " + size);
    const fs::path disk = tmp / ("disk-" + size);
    const TmpfsMount small(disk, size);
    if (!small.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << small.problem();
    const fs::path db = tmp / ("results-" + size + ".db");
    const Outcome o = runner({file.string(), "--db", db.string(), "--results",
                              (disk / "results").string(), "--threads", "2", "--quiet"},
                             tmp.path());
    ASSERT_TRUE(o.exit_code == 0 || o.exit_code == 1) << describe(o);
    for (const auto& entry : fs::recursive_directory_iterator(disk)) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos)
          << "left behind: " << entry.path();
    }
    EXPECT_EQ(query(db, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(query(db, "SELECT count(*) FROM runs WHERE status NOT IN ('completed', 'failed')"),
              "0");
    EXPECT_EQ(query(db,
                    "SELECT count(*) FROM runs WHERE status = 'failed' AND "
                    "coalesce(error, '') = ''"),
              "0");
    completed += std::stoi(query(db, "SELECT count(*) FROM runs WHERE status = 'completed'"));
    failed += std::stoi(query(db, "SELECT count(*) FROM runs WHERE status = 'failed'"));
    std::stringstream rows(query(db, "SELECT path || ' ' || sha256 FROM artifacts"));
    std::string path, sha;
    while (rows >> path >> sha) {
      const fs::path at = fs::path(path).is_absolute() ? fs::path(path) : tmp / path;
      ASSERT_TRUE(fs::exists(at)) << path;
      EXPECT_EQ(tlr::sha256_file(at.string()), sha) << path;
    }
  }
  // The sizes span "nothing fits" to "everything fits".
  EXPECT_GT(failed, 0);
  EXPECT_GT(completed, 0);
}

}  // namespace
