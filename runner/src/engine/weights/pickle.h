// A reader for the subset of Python's pickle format that torch.save emits for state dicts
// (protocol 2, plus the few protocol 4 opcodes newer Pythons use). Internal to the weights reader.
#pragma once

#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tlr::weights {

// A malformed or unsupported file; the caller prefixes the path.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The element storage a tensor views. `data` (1-D, `numel` elements of `dtype`) is filled in by
// whoever knows where the bytes are: at once for zip archives, after the pickle for legacy files.
// A legacy view storage points at its root storage with an element offset.
struct Storage {
  std::string key;
  torch::ScalarType dtype = torch::kFloat;
  std::int64_t numel = 0;
  torch::Tensor data;
  std::shared_ptr<Storage> root;  // set for a legacy view
  std::int64_t root_offset = 0;
};

struct TensorRecipe {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> strides;
};

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Type {
    none,
    boolean,
    integer,
    big_integer,
    floating,
    string,
    tuple,
    list,
    dict,
    global,
    object,
    storage,
    tensor
  };
  Type type = Type::none;
  bool boolean = false;
  std::int64_t integer = 0;
  double floating = 0;
  std::string text;  // string; big_integer's little-endian bytes; "module.name" of a global/object
  std::vector<ValuePtr> items;                         // tuple, list
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // dict, in insertion order
  std::shared_ptr<Storage> storage;
  std::shared_ptr<TensorRecipe> tensor;
};

const char* type_name(Value::Type type);

// Resolves a persistent id (BINPERSID) to a storage value.
using PersistentLoad = std::function<ValuePtr(const Value& pid)>;

class Unpickler {
 public:
  Unpickler(const char* data, std::size_t size, PersistentLoad persistent_load = nullptr);
  // Reads one pickle, up to and including its STOP opcode, from the current position.
  ValuePtr load();
  std::size_t position() const { return pos_; }

 private:
  std::uint8_t byte();
  const char* take(std::size_t n);
  std::uint64_t little_endian(std::size_t n);
  ValuePtr pop();
  ValuePtr& top();
  std::vector<ValuePtr> pop_to_mark();
  ValuePtr reduce(const Value& callable, const Value& args);
  [[noreturn]] void fail(const std::string& problem) const;

  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::size_t opcode_pos_ = 0;
  PersistentLoad persistent_load_;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::vector<ValuePtr> memo_;
};

// The dtype of a storage class such as torch.FloatStorage; throws FormatError when unknown.
torch::ScalarType storage_dtype(const Value& storage_class);

// Builds the tensor a recipe describes (its storage's data must be filled in); checks bounds.
torch::Tensor materialize(const TensorRecipe& recipe);

}  // namespace tlr::weights
