// read_state_dict / save_state_dict / load_state_dict (see state_dict.h).
#include "engine/weights/state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "engine/util/atomic_file.h"
#include "engine/util/sha256.h"
#include "engine/weights/pickle.h"
#include "engine/weights/zip_checksums.h"
#include "tlr/error.h"

namespace tlr {

namespace {

using weights::FormatError;
using weights::Storage;
using weights::Unpickler;
using weights::Value;
using weights::ValuePtr;

// A read-only memory map of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": error: cannot open weight file: " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      ::close(fd);
      throw Error(path + ": error: not a regular file");
    }
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ > 0) {
      void* at = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (at == MAP_FAILED) {
        ::close(fd);
        throw Error(path + ": error: cannot map weight file: " + std::strerror(errno));
      }
      data_ = static_cast<const char*>(at);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

const std::string& pid_string(const Value& pid, std::size_t i, const char* what) {
  if (pid.items.size() <= i || pid.items[i]->type != Value::Type::string) {
    throw FormatError(std::string("malformed storage record (") + what + ")");
  }
  return pid.items[i]->text;
}

std::int64_t pid_integer(const Value& pid, std::size_t i, const char* what) {
  if (pid.items.size() <= i || pid.items[i]->type != Value::Type::integer ||
      pid.items[i]->integer < 0) {
    throw FormatError(std::string("malformed storage record (") + what + ")");
  }
  return pid.items[i]->integer;
}

// ('storage', <storage class>, key, location, numel[, view_metadata]) — the persistent id both
// formats use for a tensor storage.
std::shared_ptr<Storage> storage_of_pid(const Value& pid) {
  if (pid.type != Value::Type::tuple || pid.items.size() < 5 ||
      pid_string(pid, 0, "kind") != "storage") {
    throw FormatError("unsupported persistent id (not a tensor storage)");
  }
  auto storage = std::make_shared<Storage>();
  storage->dtype = weights::storage_dtype(*pid.items[1]);
  storage->key = pid_string(pid, 2, "key");
  storage->numel = pid_integer(pid, 4, "size");
  return storage;
}

ValuePtr storage_value(std::shared_ptr<Storage> storage) {
  auto value = std::make_shared<Value>();
  value->type = Value::Type::storage;
  value->storage = std::move(storage);
  return value;
}

// The state dict inside the unpickled object: the object itself, or the "state_dict" / "model"
// entry of a training checkpoint.
NamedTensors state_dict_of(const ValuePtr& root) {
  if (root->type != Value::Type::dict) {
    throw FormatError(std::string("the file holds a ") + weights::type_name(root->type) + " (" +
                      root->text + "), not a state dict");
  }
  bool has_tensor = false;
  for (const auto& [key, value] : root->entries) has_tensor |= value->type == Value::Type::tensor;
  if (!has_tensor) {
    for (const auto& [key, value] : root->entries) {
      if (key->type == Value::Type::string && (key->text == "state_dict" || key->text == "model") &&
          value->type == Value::Type::dict) {
        return state_dict_of(value);
      }
    }
  }
  NamedTensors out;
  for (const auto& [key, value] : root->entries) {
    if (key->type != Value::Type::string) {
      throw FormatError(std::string("state dict key is a ") + weights::type_name(key->type));
    }
    if (value->type != Value::Type::tensor) {
      throw FormatError("entry '" + key->text + "' is a " + weights::type_name(value->type) +
                        ", not a tensor");
    }
    out.emplace_back(key->text, weights::materialize(*value->tensor));
  }
  return out;
}

// A record's bytes against the CRC-32 the archive's central directory records for it
// ("<archive>/<record>"; torch.save stores records uncompressed, so the CRC covers these bytes).
class RecordChecksums {
 public:
  explicit RecordChecksums(const MappedFile& file)
      : crcs_(weights::zip_recorded_crcs(file.data(), file.size())) {
    for (const auto& [name, crc] : crcs_) {
      const auto slash = name.find('/');
      if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) {
        archive_ = name.substr(0, slash);
        break;
      }
    }
  }
  void check(const std::string& record, const void* data, std::size_t size) const {
    const auto found = crcs_.find(archive_ + "/" + record);
    if (found == crcs_.end()) {
      throw FormatError("record '" + record + "' is not in the zip central directory");
    }
    const std::uint32_t actual = weights::crc32_of(data, size);
    if (actual != found->second) {
      char numbers[64];
      std::snprintf(numbers, sizeof numbers, "CRC-32 %08x, the archive records %08x", actual,
                    found->second);
      throw FormatError("record '" + record + "' is corrupt (" + numbers + "); get the file again");
    }
  }

 private:
  std::map<std::string, std::uint32_t> crcs_;
  std::string archive_;
};

NamedTensors read_zip(const std::string& path, const MappedFile& file) {
  const RecordChecksums checksums(file);
  caffe2::serialize::PyTorchStreamReader reader(path);
  if (!reader.hasRecord("data.pkl")) {
    throw FormatError("a zip archive without data.pkl; not a torch.save file");
  }
  if (reader.hasRecord("constants.pkl")) {
    throw FormatError(
        "a TorchScript archive (torch.jit.save), not a state dict; use the "
        "torchscript backbone for it");
  }
  auto [pickle_data, pickle_size] = reader.getRecord("data.pkl");
  checksums.check("data.pkl", pickle_data.get(), pickle_size);
  std::map<std::string, std::shared_ptr<Storage>> storages;
  auto load_storage = [&](const Value& pid) {
    auto storage = storage_of_pid(pid);
    auto known = storages.find(storage->key);
    if (known != storages.end()) return storage_value(known->second);
    const std::string record = "data/" + storage->key;
    if (!reader.hasRecord(record)) throw FormatError("missing record '" + record + "'");
    auto [ptr, bytes] = reader.getRecord(record);
    checksums.check(record, ptr.get(), bytes);
    const auto element = static_cast<std::int64_t>(c10::elementSize(storage->dtype));
    // Divided, not multiplied: a huge element count overflowed (UBSan) and, wrapped, let a short
    // record through (fuzz/corpus/pth/regression-zip-numel-overflow).
    if (storage->numel > static_cast<std::int64_t>(bytes) / element) {
      throw FormatError("record '" + record + "' is shorter than its storage");
    }
    auto holder = std::make_shared<at::DataPtr>(std::move(ptr));
    storage->data = torch::from_blob(
        holder->get(), {storage->numel}, [holder](void*) {},
        torch::TensorOptions().dtype(storage->dtype));
    storages.emplace(storage->key, storage);
    return storage_value(storage);
  };
  Unpickler unpickler(static_cast<const char*>(pickle_data.get()), pickle_size, load_storage);
  return state_dict_of(unpickler.load());
}

// The pre-1.6 torch.save stream: pickles of the magic number, the protocol version and sys_info,
// then the object (storages as persistent ids), then the sorted storage keys, then each storage
// as an int64 element count followed by its raw little-endian bytes.
NamedTensors read_legacy(const MappedFile& file) {
  std::map<std::string, std::shared_ptr<Storage>> storages;
  auto load_storage = [&](const Value& pid) {
    auto storage = storage_of_pid(pid);
    auto root = storages.find(storage->key);
    if (root == storages.end()) root = storages.emplace(storage->key, storage).first;
    // view_metadata: (view_key, element offset, view_size); absent in files from torch >= 1.0.
    if (pid.items.size() > 5 && pid.items[5]->type == Value::Type::tuple) {
      const Value& view = *pid.items[5];
      auto slice = std::make_shared<Storage>();
      slice->key = pid_string(view, 0, "view key");
      slice->dtype = root->second->dtype;
      slice->root = root->second;
      slice->root_offset = pid_integer(view, 1, "view offset");
      slice->numel = pid_integer(view, 2, "view size");
      return storage_value(slice);
    }
    return storage_value(root->second);
  };
  Unpickler unpickler(file.data(), file.size(), load_storage);
  ValuePtr magic = unpickler.load();
  static const unsigned char kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                         0x20, 0x6a, 0xa8, 0x50, 0x19};
  if (magic->type != Value::Type::big_integer ||
      magic->text != std::string(reinterpret_cast<const char*>(kMagic), sizeof kMagic)) {
    throw FormatError("not a torch.save file (bad magic number)");
  }
  ValuePtr protocol = unpickler.load();
  if (protocol->type != Value::Type::integer || protocol->integer != 1001) {
    throw FormatError("unsupported torch.save protocol version");
  }
  unpickler.load();  // sys_info: little-endian files only, checked by the storage sizes below
  ValuePtr root = unpickler.load();
  ValuePtr keys = unpickler.load();
  if (keys->type != Value::Type::list) throw FormatError("malformed storage key list");
  std::size_t pos = unpickler.position();
  for (const auto& key : keys->items) {
    if (key->type != Value::Type::string) throw FormatError("malformed storage key list");
    auto found = storages.find(key->text);
    if (found == storages.end()) throw FormatError("unknown storage '" + key->text + "'");
    Storage& storage = *found->second;
    if (file.size() - pos < 8) throw FormatError("unexpected end of file (truncated?)");
    std::int64_t numel = 0;
    std::memcpy(&numel, file.data() + pos, 8);
    pos += 8;
    const auto element = static_cast<std::int64_t>(c10::elementSize(storage.dtype));
    if (numel != storage.numel) {
      throw FormatError("storage '" + key->text + "' has " + std::to_string(numel) +
                        " elements, expected " + std::to_string(storage.numel));
    }
    // Divided: a huge count overflowed (fuzz/corpus/pth/regression-legacy-numel-overflow).
    if (numel > static_cast<std::int64_t>(file.size() - pos) / element) {
      throw FormatError("unexpected end of file (truncated?)");
    }
    storage.data = torch::empty({numel}, torch::TensorOptions().dtype(storage.dtype));
    std::memcpy(storage.data.data_ptr(), file.data() + pos,
                static_cast<std::size_t>(numel * element));
    pos += static_cast<std::size_t>(numel * element);
  }
  return state_dict_of(root);
}

std::string shape_text(torch::IntArrayRef sizes) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << "]";
  return out.str();
}

bool skipped(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const auto& prefix : prefixes) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

bool is_batch_counter(const std::string& name) {
  static const std::string kSuffix = "num_batches_tracked";
  return name.size() >= kSuffix.size() &&
         name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

// Python pickle protocol 2 for {name: tensor}, each tensor through
// torch._utils._rebuild_tensor_v2 with its storage as a persistent id, as torch.save writes it.
class StateDictPickler {
 public:
  std::string pickle(const NamedTensors& tensors) {
    out_ = "\x80\x02}";  // PROTO 2, EMPTY_DICT
    if (!tensors.empty()) out_ += '(';
    std::size_t key = 0;
    for (const auto& [name, tensor] : tensors) {
      unicode(name);
      out_ += "ctorch._utils\n_rebuild_tensor_v2\n";
      out_ += '(';
      // Persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel).
      out_ += '(';
      unicode("storage");
      out_ += "ctorch\n" + storage_class(tensor.scalar_type(), name) + "\n";
      unicode(std::to_string(key++));
      unicode("cpu");
      integer(tensor.numel());
      out_ += "tQ";  // TUPLE, BINPERSID
      integer(0);    // storage offset
      ints(tensor.sizes());
      ints(tensor.strides());
      out_ += '\x89';                           // requires_grad False
      out_ += "ccollections\nOrderedDict\n)R";  // backward hooks
      out_ += "tR";
    }
    if (!tensors.empty()) out_ += 'u';
    out_ += '.';
    return out_;
  }

 private:
  static std::string storage_class(torch::ScalarType dtype, const std::string& name) {
    switch (dtype) {
      case torch::kFloat:
        return "FloatStorage";
      case torch::kDouble:
        return "DoubleStorage";
      case torch::kHalf:
        return "HalfStorage";
      case torch::kBFloat16:
        return "BFloat16Storage";
      case torch::kLong:
        return "LongStorage";
      case torch::kInt:
        return "IntStorage";
      case torch::kShort:
        return "ShortStorage";
      case torch::kChar:
        return "CharStorage";
      case torch::kByte:
        return "ByteStorage";
      case torch::kBool:
        return "BoolStorage";
      default:
        throw Error("cannot save tensor '" + name + "' of dtype " + c10::toString(dtype));
    }
  }
  void unicode(const std::string& text) {
    out_ += 'X';
    raw(static_cast<std::uint32_t>(text.size()), 4);
    out_ += text;
  }
  void integer(std::int64_t value) {
    if (value >= 0 && value < (std::int64_t{1} << 31)) {
      out_ += 'J';
      raw(static_cast<std::uint64_t>(value), 4);
    } else {
      out_ += '\x8a';
      out_ += '\x08';
      raw(static_cast<std::uint64_t>(value), 8);
    }
  }
  void ints(torch::IntArrayRef values) {
    out_ += '(';
    for (auto v : values) integer(v);
    out_ += 't';
  }
  void raw(std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out_ += static_cast<char>((value >> (8 * i)) & 0xff);
  }
  std::string out_;
};

}  // namespace

NamedTensors read_state_dict(const std::string& path) {
  try {
    char head[4] = {0, 0, 0, 0};
    {
      MappedFile file(path);  // read_zip's checksums read the zip directory from the map
      if (file.size() == 0) throw FormatError("empty file");
      std::memcpy(head, file.data(), std::min<std::size_t>(4, file.size()));
      if (std::memcmp(head, "PK\x03\x04", 4) != 0) {
        if (static_cast<unsigned char>(head[0]) != 0x80) {
          throw FormatError(
              "not a PyTorch weight file (neither a torch.save zip archive nor a "
              "legacy torch.save stream)");
        }
        return read_legacy(file);
      }
      return read_zip(path, file);
    }
  } catch (const FormatError& e) {
    throw Error(path + ": error: " + e.what());
  } catch (const c10::Error& e) {
    throw Error(path + ": error: unreadable zip archive (truncated?): " +
                std::string(e.what_without_backtrace()).substr(0, 200));
  }
}

void save_state_dict(const std::string& path, const NamedTensors& tensors) {
  NamedTensors contiguous;
  contiguous.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    contiguous.emplace_back(name, tensor.detach().to(torch::kCPU).contiguous());
  }
  const std::string pickle = StateDictPickler().pickle(contiguous);
  // PyTorchStreamWriter finishes the archive in its destructor: a writer callback that threw
  // would be called again while unwinding and abort the process (a full disk). AtomicFile's
  // never throws; commit() reports the first failure.
  AtomicFile file(path, "weight file");
  try {
    caffe2::serialize::PyTorchStreamWriter writer(
        [&file](const void* data, std::size_t n) -> std::size_t { return file.write(data, n); });
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    for (std::size_t i = 0; i < contiguous.size(); ++i) {
      const torch::Tensor& t = contiguous[i].second;
      writer.writeRecord("data/" + std::to_string(i), t.data_ptr(), t.numel() * t.element_size());
    }
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    throw Error(path + ": error: cannot write weight file: " + e.what_without_backtrace());
  }
  file.commit();
}

void save_state_dict(const std::string& path, const torch::nn::Module& module) {
  NamedTensors tensors;
  for (const auto& item : module.named_parameters()) tensors.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) tensors.emplace_back(item.key(), item.value());
  save_state_dict(path, tensors);
}

void load_state_dict(torch::nn::Module& module, const std::string& path,
                     const std::vector<std::string>& skip_prefixes) {
  NamedTensors file_tensors = read_state_dict(path);
  std::map<std::string, const torch::Tensor*> in_file;
  for (const auto& [name, tensor] : file_tensors) {
    if (!skipped(name, skip_prefixes)) in_file.emplace(name, &tensor);
  }
  NamedTensors targets;
  for (const auto& item : module.named_parameters()) targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) targets.emplace_back(item.key(), item.value());

  std::size_t missing = 0;
  for (const auto& [name, target] : targets) {
    missing += !skipped(name, skip_prefixes) && !in_file.count(name) && !is_batch_counter(name);
  }
  // The first offending tensor in the model's order, then the file's leftovers.
  std::vector<std::pair<torch::Tensor, const torch::Tensor*>> copies;
  std::set<std::string> matched;
  for (const auto& [name, target] : targets) {
    if (skipped(name, skip_prefixes)) continue;
    auto found = in_file.find(name);
    if (found == in_file.end()) {
      if (is_batch_counter(name)) continue;
      throw Error(path + ": error: missing key '" + name + "': " + std::to_string(missing) +
                  " of " + std::to_string(targets.size()) +
                  " model tensors are not in the file (wrong architecture?)");
    }
    matched.insert(name);
    const torch::Tensor& source = *found->second;
    if (source.sizes() != target.sizes()) {
      throw Error(path + ": error: shape mismatch for '" + name + "': file has " +
                  shape_text(source.sizes()) + ", model has " + shape_text(target.sizes()));
    }
    copies.emplace_back(target, found->second);
  }
  for (const auto& [name, tensor] : file_tensors) {
    if (skipped(name, skip_prefixes) || matched.count(name) || is_batch_counter(name)) continue;
    const auto dot = name.find('.');
    throw Error(path + ": error: unexpected key '" + name +
                "': the model has no such tensor (to ignore it, skip '" +
                (dot == std::string::npos ? name : name.substr(0, dot + 1)) + "')");
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(*source);
}

std::string sha256_of_file(const std::string& path) { return sha256_file(path); }

}  // namespace tlr
