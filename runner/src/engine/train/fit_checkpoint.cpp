#include "engine/train/fit_checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/serialize/output-archive.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

#include "engine/util/fault_point.h"
#include "engine/weights/archive_records.h"
#include "tlr/error.h"

namespace tlr {

namespace {

constexpr const char* kMagic = "tlr-fit-checkpoint";
constexpr int kVersion = 1;
constexpr std::size_t kHeaderBytes = 128;
constexpr const char* kStartOver = "; delete the file to start the fit over";

Error file_error(const std::string& path, const std::string& problem) {
  return Error(path + ": error: " + problem);
}

std::string os_error() { return std::strerror(errno); }

// libtorch's messages run over several lines (and carry a backtrace): the first line is the reason.
std::string first_line(const c10::Error& e) {
  std::string message = e.what_without_backtrace();
  return message.substr(0, message.find('\n'));
}

// Closes a file descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void write_all(const std::string& path, int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw file_error(path, "cannot write checkpoint: " + os_error());
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

std::string header_line(const FitCheckpointSummary& s, std::uint64_t payload) {
  std::string line =
      std::string(kMagic) + " v" + std::to_string(kVersion) + " done=" + (s.done ? "1" : "0") +
      " epochs_recorded=" + std::to_string(s.epochs_recorded) +
      " threads=" + std::to_string(s.threads) + " payload=" + std::to_string(payload);
  line.resize(kHeaderBytes - 1, ' ');
  return line + '\n';
}

struct Header {
  FitCheckpointSummary summary;
  std::uint64_t payload = 0;
};

// Parses and checks the header against the file's size.
Header read_header(const std::string& path, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw file_error(path, "cannot read checkpoint: " + os_error());
  char buffer[kHeaderBytes];
  std::size_t got = 0;
  while (got < kHeaderBytes) {
    const ssize_t r = ::pread(fd, buffer + got, kHeaderBytes - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw file_error(path, "cannot read checkpoint: " + os_error());
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  const std::string magic = std::string(kMagic) + " v";
  if (got < kHeaderBytes || std::string(buffer, magic.size()) != magic ||
      buffer[kHeaderBytes - 1] != '\n') {
    throw file_error(path, std::string("not a tlr fit checkpoint") + kStartOver);
  }
  std::istringstream in(std::string(buffer + magic.size(), kHeaderBytes - magic.size()));
  int version = 0;
  if (!(in >> version))
    throw file_error(path, std::string("not a tlr fit checkpoint") + kStartOver);
  if (version != kVersion) {
    throw file_error(path, "tlr fit checkpoint format v" + std::to_string(version) +
                               ", this runner reads v" + std::to_string(kVersion) + kStartOver);
  }
  Header h;
  std::map<std::string, std::uint64_t> fields;
  std::string field;
  while (in >> field) {
    const auto eq = field.find('=');
    if (eq == std::string::npos) continue;
    try {
      fields[field.substr(0, eq)] = std::stoull(field.substr(eq + 1));
    } catch (const std::exception&) {
      throw file_error(path, "bad tlr fit checkpoint header: '" + field + "'" + kStartOver);
    }
  }
  for (const char* key : {"done", "epochs_recorded", "threads", "payload"}) {
    if (!fields.count(key)) {
      throw file_error(path, std::string("bad tlr fit checkpoint header: no ") + key + kStartOver);
    }
  }
  h.summary.done = fields["done"] != 0;
  h.summary.epochs_recorded = static_cast<int>(fields["epochs_recorded"]);
  h.summary.threads = static_cast<int>(fields["threads"]);
  h.payload = fields["payload"];
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size != kHeaderBytes + h.payload) {
    throw file_error(path, "truncated tlr fit checkpoint: " + std::to_string(size) +
                               " bytes, the header says " +
                               std::to_string(kHeaderBytes + h.payload) + kStartOver);
  }
  return h;
}

Fd open_for_reading(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) throw file_error(path, "cannot open checkpoint: " + os_error());
  return f;
}

// ---- archive fields ----

// Writes each field of a FitState into an archive; Reader below reads them back.
struct Writer {
  torch::serialize::OutputArchive& a;
  void operator()(const char* key, int v) { a.write(key, c10::IValue(std::int64_t{v})); }
  void operator()(const char* key, std::int64_t v) { a.write(key, c10::IValue(v)); }
  void operator()(const char* key, bool v) { a.write(key, c10::IValue(v)); }
  void operator()(const char* key, double v) { a.write(key, c10::IValue(v)); }
  void operator()(const char* key, const std::string& v) { a.write(key, c10::IValue(v)); }
  void operator()(const char* key, const std::vector<double>& v) {
    a.write(key, c10::IValue(c10::List<double>(v)));
  }
  void operator()(const char* key, const torch::Tensor& v) {
    a.write(key, v.to(torch::kCPU), /*is_buffer=*/true);
  }
  // Names and tensors as two lists: an archive key becomes an attribute of the archive's generated
  // Python, where a tensor name's dots would not parse.
  void operator()(const char* key, const NamedTensors& v) {
    c10::List<std::string> names;
    c10::List<at::Tensor> tensors;
    for (const auto& [name, tensor] : v) {
      names.push_back(name);
      tensors.push_back(tensor.detach().to(torch::kCPU));
    }
    a.write(std::string(key) + "/names", c10::IValue(names));
    a.write(std::string(key) + "/tensors", c10::IValue(tensors));
  }
};

struct Reader {
  torch::serialize::InputArchive& a;
  c10::IValue get(const std::string& key) {
    c10::IValue v;
    a.read(key, v);
    return v;
  }
  void operator()(const char* key, int& v) { v = static_cast<int>(get(key).toInt()); }
  void operator()(const char* key, std::int64_t& v) { v = get(key).toInt(); }
  void operator()(const char* key, bool& v) { v = get(key).toBool(); }
  void operator()(const char* key, double& v) { v = get(key).toDouble(); }
  void operator()(const char* key, std::string& v) { v = get(key).toStringRef(); }
  void operator()(const char* key, std::vector<double>& v) { v = get(key).toDoubleVector(); }
  void operator()(const char* key, torch::Tensor& v) { a.read(key, v, /*is_buffer=*/true); }
  void operator()(const char* key, NamedTensors& v) {
    const c10::IValue names = get(std::string(key) + "/names");
    const std::vector<at::Tensor> tensors = get(std::string(key) + "/tensors").toTensorVector();
    const auto list = names.toListRef();
    if (list.size() != tensors.size()) {
      throw std::runtime_error(std::string(key) + ": the names and the tensors differ in number");
    }
    v.clear();
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      v.emplace_back(list[i].toStringRef(), tensors[i]);
    }
  }
};

// One list of fields for both directions, so that none is saved and forgotten on load. The
// summary is the header's, not the archive's.
template <typename Visit, typename State>
void fields(Visit&& visit, State& s) {
  visit("epochs", s.epochs);
  visit("optimizer_name", s.optimizer);
  visit("epoch", s.epoch);
  visit("finished", s.finished);
  visit("passes_started", s.pass);  // not "pass", a Python keyword (see Writer)
  visit("mid_epoch", s.mid_epoch);
  visit("steps", s.steps);
  visit("steps_in_pass", s.steps_in_pass);
  visit("taken_in_pass", s.taken_in_pass);
  visit("loss_sum", s.loss_sum);
  visit("correct", s.correct);
  visit("samples", s.samples);
  visit("train_seconds", s.train_seconds);
  visit("schedule/current", s.schedule.current);
  visit("schedule/best", s.schedule.best);
  visit("schedule/wait", s.schedule.wait);
  visit("stop_best", s.stop_best);
  visit("stop_wait", s.stop_wait);
  visit("best_acc", s.best_acc);
  visit("best", s.best);
  visit("result/epochs", s.result.epochs);
  visit("result/best_epoch", s.result.best_epoch);
  visit("result/best_val_accuracy", s.result.best_val_accuracy);
  visit("result/stopped_because", s.result.stopped_because);
  visit("generator", s.generator);
  visit("weights", s.weights);
}

std::string shape_of(const torch::Tensor& t) {
  std::string out = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) out += (i ? ", " : "") + std::to_string(t.size(i));
  return out + "]";
}

}  // namespace

const char* CheckpointedStop::what() const noexcept {
  return "the fit stopped on request after saving its checkpoint";
}

FitCheckpointSummary read_fit_checkpoint_summary(const std::string& path) {
  Fd f = open_for_reading(path);
  return read_header(path, f.fd).summary;
}

NamedTensors model_tensors(torch::nn::Module& model) {
  NamedTensors out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

void save_fit_checkpoint(const std::string& path, const FitState& state,
                         const torch::optim::Optimizer* optimizer) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw file_error(path, "cannot create the checkpoint's directory: " + ec.message());

  torch::serialize::OutputArchive archive;
  fields(Writer{archive}, state);
  if (optimizer) {
    torch::serialize::OutputArchive nested(archive.compilation_unit());
    optimizer->save(nested);
    archive.write("optimizer", nested);
  }

  const std::string tmp = path + ".tmp";
  try {
    Fd f;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f.fd < 0) throw file_error(path, "cannot write checkpoint: " + tmp + ": " + os_error());
    // The header goes last, at offset 0, once the payload's size is known.
    if (::lseek(f.fd, static_cast<off_t>(kHeaderBytes), SEEK_SET) < 0) {
      throw file_error(path, "cannot write checkpoint: " + os_error());
    }
    std::uint64_t payload = 0;
    // The callback must not throw: libtorch's zip writer would call it again from its
    // destructor while unwinding, and abort the process (a full disk). The first failure is
    // kept and reported once the archive is done.
    std::string write_problem;
    try {
      archive.save_to([&](const void* data, std::size_t n) -> std::size_t {
        if (write_problem.empty()) {
          try {
            write_all(path, f.fd, data, n);
          } catch (const Error& e) {
            write_problem = e.what();
          }
        }
        payload += n;
        return n;
      });
    } catch (const c10::Error& e) {
      throw file_error(path, "cannot write checkpoint: " + first_line(e));
    }
    if (!write_problem.empty()) throw Error(write_problem);
    const std::string header = header_line(state.summary, payload);
    if (::pwrite(f.fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
        ::fsync(f.fd) != 0) {
      throw file_error(path, "cannot write checkpoint: " + os_error());
    }
    const int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) throw file_error(path, "cannot write checkpoint: " + os_error());
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw file_error(path, "cannot write checkpoint: rename from " + tmp + ": " + os_error());
    }
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  // The rename is durable only once the directory is on disk too.
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0 || ::fsync(d.fd) != 0) {
    throw file_error(path, "cannot write checkpoint: fsync of " + dir.string() + ": " + os_error());
  }
  fault_point("checkpoint_saved");
}

LoadedFitCheckpoint load_fit_checkpoint(const std::string& path, torch::Device device) {
  Fd f = open_for_reading(path);
  const Header header = read_header(path, f.fd);
  LoadedFitCheckpoint out;
  out.state.summary = header.summary;
  torch::serialize::InputArchive archive;
  try {
    // CRCs first: libtorch's loader can crash on a corrupt archive
    // (engine/weights/archive_records.h).
    check_archive_file(path, kHeaderBytes);
    const int fd = f.fd;
    archive.load_from(
        [fd](std::uint64_t pos, void* buffer, std::size_t n) -> std::size_t {
          std::size_t got = 0;
          while (got < n) {
            const ssize_t r = ::pread(fd, static_cast<char*>(buffer) + got, n - got,
                                      static_cast<off_t>(kHeaderBytes + pos + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += static_cast<std::size_t>(r);
          }
          return got;
        },
        [&header]() -> std::size_t { return header.payload; }, device);
    fields(Reader{archive}, out.state);
    if (!header.summary.done) archive.read("optimizer", out.optimizer);
  } catch (const c10::Error& e) {
    throw file_error(path, "corrupt tlr fit checkpoint: " + first_line(e) + kStartOver);
  } catch (const std::exception& e) {
    // Not only runtime_error: libtorch's unpickler lets std::out_of_range out of a corrupt archive
    // (fuzz/corpus/checkpoint/regression-unpickler-out-of-range).
    throw file_error(path, std::string("corrupt tlr fit checkpoint: ") + e.what() + kStartOver);
  }
  return out;
}

void check_same_tensors(const std::string& path, const NamedTensors& live,
                        const NamedTensors& saved) {
  std::map<std::string, const torch::Tensor*> by_name;
  for (const auto& [name, tensor] : saved) by_name[name] = &tensor;
  const std::string prefix = "checkpoint does not match the model: ";
  for (const auto& [name, tensor] : live) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      throw file_error(path, prefix + "it has no tensor '" + name + "'" + kStartOver);
    }
    if (it->second->sizes() != tensor.sizes()) {
      throw file_error(path, prefix + "tensor '" + name + "' is " + shape_of(*it->second) +
                                 " in the checkpoint, " + shape_of(tensor) + " in the model" +
                                 kStartOver);
    }
    by_name.erase(it);
  }
  for (const auto& [name, tensor] : saved) {
    if (by_name.count(name)) {
      throw file_error(path, prefix + "the model has no tensor '" + name + "'" + kStartOver);
    }
  }
}

void copy_named(const std::string& path, const NamedTensors& live, const NamedTensors& saved) {
  check_same_tensors(path, live, saved);
  std::map<std::string, const torch::Tensor*> by_name;
  for (const auto& [name, tensor] : saved) by_name[name] = &tensor;
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : live) {
    torch::Tensor target = tensor;  // a handle: copy_ writes into the model's storage
    target.copy_(*by_name.at(name));
  }
}

void load_optimizer(const std::string& path, torch::optim::Optimizer& optimizer,
                    torch::serialize::InputArchive& archive) {
  try {
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    throw file_error(path,
                     "checkpoint does not match the optimizer: " + first_line(e) + kStartOver);
  }
}

torch::Tensor cpu_generator_state() {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_cpu_generator_state(const torch::Tensor& state) {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.to(torch::kCPU));
}

}  // namespace tlr
