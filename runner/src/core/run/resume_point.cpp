#include "core/run/resume_point.h"

#include <filesystem>

#include "engine/train/fit_checkpoint.h"
#include "tlr/error.h"

namespace tlr {

namespace fs = std::filesystem;

namespace {

fs::path fit_file(const std::string& dir, int k) {
  return fs::path(dir) / ("fit-" + std::to_string(k) + ".pt");
}

}  // namespace

ResumePoint read_resume_point(const std::string& dir, bool drop_unreadable) {
  ResumePoint point;
  std::error_code ec;
  for (int k = 0; fs::exists(fit_file(dir, k), ec); ++k) {
    FitCheckpointSummary summary;
    try {
      summary = read_fit_checkpoint_summary(fit_file(dir, k).string());
    } catch (const Error& e) {
      point.problem = e.what();
      if (drop_unreadable) {
        for (int j = k; fs::remove(fit_file(dir, j), ec); ++j) {
        }
      }
      break;
    }
    point.keep_epochs += summary.epochs_recorded;
    point.threads = summary.threads;
    if (!summary.done) {
      point.epochs_into_fit = summary.epochs_recorded;
      break;
    }
    ++point.fits_done;
  }
  return point;
}

std::string describe_resume(const ResumePoint& point) {
  if (point.keep_epochs == 0 && point.fits_done == 0) return "from its start (no checkpoint yet)";
  std::string text = "from its checkpoint after " + std::to_string(point.keep_epochs) +
                     (point.keep_epochs == 1 ? " epoch" : " epochs");
  if (point.fits_done > 0) {
    text += " (" + std::to_string(point.fits_done) +
            (point.fits_done == 1 ? " phase done)" : " phases done)");
  }
  return text;
}

}  // namespace tlr
