#include "engine/train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace tlr {

namespace {

std::string clock_text(double seconds) {
  const long s = std::lround(seconds);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  }
  return text;
}

}  // namespace

ProgressStyle progress_style_for_stderr(bool quiet) {
  if (quiet) return ProgressStyle::quiet;
  return isatty(STDERR_FILENO) ? ProgressStyle::bar : ProgressStyle::lines;
}

ProgressPrinter::ProgressPrinter(std::ostream& out, ProgressStyle style, std::string label)
    : out_(out), style_(style), label_(std::move(label)) {}

std::string ProgressPrinter::prefix(int epoch, int epochs, const std::string& phase) const {
  std::ostringstream s;
  if (!label_.empty()) s << label_ << ' ';
  if (!phase.empty()) s << phase << ' ';
  s << "epoch " << epoch << '/' << epochs;
  return s.str();
}

void ProgressPrinter::on_progress(const TrainProgress& p) {
  if (style_ != ProgressStyle::bar) return;
  const auto now = std::chrono::steady_clock::now();
  const bool last = p.done >= p.total;
  if (!last && bar_open_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 24;
  const double fraction = p.total > 0 ? std::min(1.0, static_cast<double>(p.done) / p.total) : 0;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
  const double eta = p.done > 0 ? p.seconds / p.done * (p.total - p.done) : 0;
  std::ostringstream line;
  line << '\r' << prefix(p.epoch, p.epochs, p.phase) << " [" << bar << "] " << std::setw(3)
       << static_cast<int>(fraction * 100) << "% ETA " << clock_text(eta) << std::fixed
       << std::setprecision(4) << " loss " << p.loss << " acc " << p.accuracy << "\x1b[K";
  out_ << line.str() << std::flush;
  bar_open_ = true;
}

void ProgressPrinter::on_epoch(const EpochRecord& r) {
  if (style_ == ProgressStyle::quiet) return;
  std::ostringstream line;
  if (bar_open_) line << "\r\x1b[K";
  bar_open_ = false;
  line << prefix(r.epoch, r.epochs, r.phase) << std::fixed << std::setprecision(4) << "  loss "
       << r.train_loss << " acc " << r.train_acc << "  val_loss " << r.val_loss << " val_acc "
       << r.val_acc << std::defaultfloat << std::setprecision(3) << "  lr " << r.lr << "  "
       << std::fixed << std::setprecision(1) << r.seconds << "s " << std::setprecision(0)
       << r.images_per_second << " img/s\n";
  out_ << line.str() << std::flush;
}

TrainerCallbacks ProgressPrinter::attach(TrainerCallbacks callbacks) {
  TrainerCallbacks both;
  both.on_progress = [this, next = std::move(callbacks.on_progress)](const TrainProgress& p) {
    on_progress(p);
    if (next) next(p);
  };
  both.on_epoch = [this, next = std::move(callbacks.on_epoch)](const EpochRecord& r) {
    on_epoch(r);
    if (next) next(r);
  };
  return both;
}

}  // namespace tlr
