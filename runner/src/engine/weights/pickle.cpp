#include "engine/weights/pickle.h"

#include <cstring>
#include <sstream>

namespace tlr::weights {

namespace {

ValuePtr make(Value::Type type) {
  auto value = std::make_shared<Value>();
  value->type = type;
  return value;
}

ValuePtr make_string(std::string text) {
  auto value = make(Value::Type::string);
  value->text = std::move(text);
  return value;
}

ValuePtr make_integer(std::int64_t integer) {
  auto value = make(Value::Type::integer);
  value->integer = integer;
  return value;
}

std::vector<std::int64_t> integer_tuple(const Value& value, const char* what) {
  if (value.type != Value::Type::tuple && value.type != Value::Type::list) {
    throw FormatError(std::string("tensor ") + what + " is a " + type_name(value.type) +
                      ", expected a tuple");
  }
  std::vector<std::int64_t> out;
  for (const auto& item : value.items) {
    if (item->type != Value::Type::integer) {
      throw FormatError(std::string("tensor ") + what + " holds a " + type_name(item->type));
    }
    out.push_back(item->integer);
  }
  return out;
}

std::int64_t integer_of(const Value& value, const char* what) {
  if (value.type != Value::Type::integer) {
    throw FormatError(std::string(what) + " is a " + type_name(value.type) + ", expected an int");
  }
  return value.integer;
}

// torch._utils._rebuild_tensor(_v2)(storage, offset, size, stride, ...).
ValuePtr rebuild_tensor(const Value& args) {
  if (args.items.size() < 4 || args.items[0]->type != Value::Type::storage) {
    throw FormatError("malformed tensor record");
  }
  auto recipe = std::make_shared<TensorRecipe>();
  recipe->storage = args.items[0]->storage;
  recipe->offset = integer_of(*args.items[1], "tensor storage offset");
  // Very old files pickle the size as torch.Size, which reduces to its tuple (see reduce()).
  recipe->sizes = integer_tuple(*args.items[2], "size");
  recipe->strides = integer_tuple(*args.items[3], "stride");
  if (recipe->sizes.size() != recipe->strides.size()) {
    throw FormatError("tensor size and stride have different lengths");
  }
  auto value = make(Value::Type::tensor);
  value->tensor = std::move(recipe);
  return value;
}

}  // namespace

const char* type_name(Value::Type type) {
  switch (type) {
    case Value::Type::none:
      return "None";
    case Value::Type::boolean:
      return "bool";
    case Value::Type::integer:
    case Value::Type::big_integer:  // Python has one int
      return "int";
    case Value::Type::floating:
      return "float";
    case Value::Type::string:
      return "str";
    case Value::Type::tuple:
      return "tuple";
    case Value::Type::list:
      return "list";
    case Value::Type::dict:
      return "dict";
    case Value::Type::global:
      return "class";
    case Value::Type::object:
      return "object";
    case Value::Type::storage:
      return "storage";
    case Value::Type::tensor:
      return "tensor";
  }
  return "?";
}

Unpickler::Unpickler(const char* data, std::size_t size, PersistentLoad persistent_load)
    : data_(data), size_(size), persistent_load_(std::move(persistent_load)) {}

void Unpickler::fail(const std::string& problem) const {
  std::ostringstream out;
  out << "corrupt pickle at byte " << opcode_pos_ << ": " << problem;
  throw FormatError(out.str());
}

std::uint8_t Unpickler::byte() { return static_cast<std::uint8_t>(*take(1)); }

const char* Unpickler::take(std::size_t n) {
  if (n > size_ - pos_) throw FormatError("unexpected end of file (truncated?)");
  const char* at = data_ + pos_;
  pos_ += n;
  return at;
}

std::uint64_t Unpickler::little_endian(std::size_t n) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(take(n));
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < n; ++i) value |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  return value;
}

ValuePtr Unpickler::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
    fail("stack underflow");
  }
  ValuePtr value = std::move(stack_.back());
  stack_.pop_back();
  return value;
}

ValuePtr& Unpickler::top() {
  if (stack_.empty()) fail("stack underflow");
  return stack_.back();
}

std::vector<ValuePtr> Unpickler::pop_to_mark() {
  if (marks_.empty()) fail("no mark on the stack");
  const std::size_t mark = marks_.back();
  marks_.pop_back();
  std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
  stack_.resize(mark);
  return items;
}

ValuePtr Unpickler::reduce(const Value& callable, const Value& args) {
  if (callable.type != Value::Type::global)
    fail("REDUCE on a " + std::string(type_name(callable.type)));
  if (args.type != Value::Type::tuple) fail("REDUCE arguments are not a tuple");
  const std::string& name = callable.text;
  if (name == "collections.OrderedDict") {
    auto dict = make(Value::Type::dict);
    // Python 2 pickled OrderedDict as OrderedDict([[key, value], ...]).
    if (!args.items.empty() && args.items[0]->type == Value::Type::list) {
      for (const auto& pair : args.items[0]->items) {
        if (pair->items.size() != 2) fail("malformed OrderedDict item");
        dict->entries.emplace_back(pair->items[0], pair->items[1]);
      }
    }
    return dict;
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    return rebuild_tensor(args);
  }
  if (name == "torch._utils._rebuild_parameter") {
    if (args.items.empty() || args.items[0]->type != Value::Type::tensor) {
      fail("malformed parameter record");
    }
    return args.items[0];
  }
  if (name == "torch.Size" && args.items.size() == 1) return args.items[0];
  // Anything else becomes an opaque object: harmless unless it ends up where a tensor belongs.
  auto object = make(Value::Type::object);
  object->text = name;
  return object;
}

ValuePtr Unpickler::load() {
  stack_.clear();
  marks_.clear();
  while (true) {
    opcode_pos_ = pos_;
    const std::uint8_t op = byte();
    switch (op) {
      case 0x80:  // PROTO
        byte();
        break;
      case 0x95:  // FRAME
        take(8);
        break;
      case '.':  // STOP
        if (stack_.size() != 1 || !marks_.empty()) fail("unbalanced stack at STOP");
        return pop();
      case 'N':
        stack_.push_back(make(Value::Type::none));
        break;
      case 0x88:    // NEWTRUE
      case 0x89: {  // NEWFALSE
        auto value = make(Value::Type::boolean);
        value->boolean = op == 0x88;
        stack_.push_back(value);
        break;
      }
      case 'J':  // BININT
        stack_.push_back(make_integer(static_cast<std::int32_t>(little_endian(4))));
        break;
      case 'K':  // BININT1
        stack_.push_back(make_integer(byte()));
        break;
      case 'M':  // BININT2
        stack_.push_back(make_integer(static_cast<std::int64_t>(little_endian(2))));
        break;
      case 0x8a:    // LONG1
      case 0x8b: {  // LONG4
        const std::size_t n = op == 0x8a ? byte() : little_endian(4);
        const char* bytes = take(n);
        if (n <= 8) {
          std::uint64_t raw = 0;
          for (std::size_t i = 0; i < n; ++i) {
            raw |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
          }
          if (n > 0 && n < 8 && (bytes[n - 1] & 0x80)) raw |= ~std::uint64_t{0} << (8 * n);
          stack_.push_back(make_integer(static_cast<std::int64_t>(raw)));
        } else {
          auto value = make(Value::Type::big_integer);
          value->text.assign(bytes, n);
          stack_.push_back(value);
        }
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const std::uint64_t raw = little_endian(8);
        std::uint64_t swapped = 0;
        for (int i = 0; i < 8; ++i) swapped |= ((raw >> (8 * i)) & 0xff) << (8 * (7 - i));
        auto value = make(Value::Type::floating);
        std::memcpy(&value->floating, &swapped, sizeof swapped);
        stack_.push_back(value);
        break;
      }
      case 'X':     // BINUNICODE
      case 'T':     // BINSTRING
      case 'B':     // BINBYTES
      case 0x8c:    // SHORT_BINUNICODE
      case 'U':     // SHORT_BINSTRING
      case 'C':     // SHORT_BINBYTES
      case 0x8d: {  // BINUNICODE8
        std::size_t n = 0;
        if (op == 'X' || op == 'T' || op == 'B') {
          n = little_endian(4);
        } else if (op == 0x8d) {
          n = little_endian(8);
        } else {
          n = byte();
        }
        const char* bytes = take(n);
        stack_.push_back(make_string(std::string(bytes, n)));
        break;
      }
      case ']':
        stack_.push_back(make(Value::Type::list));
        break;
      case '}':
        stack_.push_back(make(Value::Type::dict));
        break;
      case ')':
        stack_.push_back(make(Value::Type::tuple));
        break;
      case '(':  // MARK
        marks_.push_back(stack_.size());
        break;
      case 't':    // TUPLE
      case 'l':    // LIST
      case 'd': {  // DICT
        auto items = pop_to_mark();
        if (op == 'd') {
          if (items.size() % 2 != 0) fail("odd number of items in DICT");
          auto dict = make(Value::Type::dict);
          for (std::size_t i = 0; i < items.size(); i += 2) {
            dict->entries.emplace_back(items[i], items[i + 1]);
          }
          stack_.push_back(dict);
        } else {
          auto value = make(op == 't' ? Value::Type::tuple : Value::Type::list);
          value->items = std::move(items);
          stack_.push_back(value);
        }
        break;
      }
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        const std::size_t n = op - 0x84;
        auto value = make(Value::Type::tuple);
        value->items.resize(n);
        for (std::size_t i = n; i-- > 0;) value->items[i] = pop();
        stack_.push_back(value);
        break;
      }
      case 'a': {  // APPEND
        auto item = pop();
        if (top()->type != Value::Type::list) fail("APPEND to a non-list");
        top()->items.push_back(item);
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_to_mark();
        if (top()->type != Value::Type::list) fail("APPENDS to a non-list");
        for (auto& item : items) top()->items.push_back(std::move(item));
        break;
      }
      case 's': {  // SETITEM
        auto value = pop();
        auto key = pop();
        if (top()->type != Value::Type::dict) fail("SETITEM on a non-dict");
        top()->entries.emplace_back(key, value);
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_to_mark();
        if (items.size() % 2 != 0) fail("odd number of items in SETITEMS");
        if (top()->type != Value::Type::dict) fail("SETITEMS on a non-dict");
        for (std::size_t i = 0; i < items.size(); i += 2) {
          top()->entries.emplace_back(items[i], items[i + 1]);
        }
        break;
      }
      case 'q':     // BINPUT
      case 'r':     // LONG_BINPUT
      case 0x94: {  // MEMOIZE
        const std::size_t index = op == 'q' ? byte() : op == 'r' ? little_endian(4) : memo_.size();
        if (index > (std::size_t{1} << 24)) fail("memo index out of range");
        if (memo_.size() <= index) memo_.resize(index + 1);
        memo_[index] = top();
        break;
      }
      case 'h':    // BINGET
      case 'j': {  // LONG_BINGET
        const std::size_t index = op == 'h' ? byte() : little_endian(4);
        if (index >= memo_.size() || !memo_[index]) fail("unknown memo index");
        stack_.push_back(memo_[index]);
        break;
      }
      case 'c': {  // GLOBAL: "module\nname\n"
        std::string parts[2];
        for (auto& part : parts) {
          while (true) {
            const char c = static_cast<char>(byte());
            if (c == '\n') break;
            part.push_back(c);
            if (part.size() > 256) fail("overlong GLOBAL name");
          }
        }
        auto value = make(Value::Type::global);
        value->text = parts[0] + "." + parts[1];
        stack_.push_back(value);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto name = pop();
        auto module = pop();
        if (name->type != Value::Type::string || module->type != Value::Type::string) {
          fail("STACK_GLOBAL needs two strings");
        }
        auto value = make(Value::Type::global);
        value->text = module->text + "." + name->text;
        stack_.push_back(value);
        break;
      }
      case 'R': {  // REDUCE
        auto args = pop();
        auto callable = pop();
        stack_.push_back(reduce(*callable, *args));
        break;
      }
      case 0x81: {  // NEWOBJ
        auto args = pop();
        auto cls = pop();
        auto object = make(Value::Type::object);
        object->text = cls->text;
        stack_.push_back(object);
        break;
      }
      case 'b':  // BUILD: object state (an OrderedDict's _metadata, say) is not needed
        pop();
        top();
        break;
      case 'Q': {  // BINPERSID
        auto pid = pop();
        if (!persistent_load_) fail("unexpected persistent id");
        stack_.push_back(persistent_load_(*pid));
        break;
      }
      case '0':  // POP
        pop();
        break;
      case '1':  // POP_MARK
        pop_to_mark();
        break;
      case '2':  // DUP
        stack_.push_back(top());
        break;
      default: {
        std::ostringstream out;
        out << "unsupported pickle opcode 0x" << std::hex << static_cast<int>(op);
        fail(out.str());
      }
    }
  }
}

torch::ScalarType storage_dtype(const Value& storage_class) {
  static const std::pair<const char*, torch::ScalarType> kTypes[] = {
      {"torch.FloatStorage", torch::kFloat},
      {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},
      {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},
      {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},
      {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},
      {"torch.BoolStorage", torch::kBool},
      {"torch.ComplexFloatStorage", torch::kComplexFloat},
      {"torch.ComplexDoubleStorage", torch::kComplexDouble},
  };
  if (storage_class.type == Value::Type::global) {
    for (const auto& [name, dtype] : kTypes) {
      if (storage_class.text == name) return dtype;
    }
  }
  throw FormatError("unsupported storage type '" + storage_class.text + "'");
}

torch::Tensor materialize(const TensorRecipe& recipe) {
  const Storage& storage = *recipe.storage;
  torch::Tensor data = storage.data;
  std::int64_t offset = recipe.offset;
  const std::string past_end = "tensor extends past the end of storage '" + storage.key + "'";
  if (storage.root) {
    data = storage.root->data;
    // Overflow-checked, as below: huge offsets, sizes or strides in a corrupt file were signed
    // overflow (UBSan, fuzz/corpus/pth/regression-offset-overflow, -size-stride-overflow).
    if (__builtin_add_overflow(offset, storage.root_offset, &offset)) throw FormatError(past_end);
  }
  if (!data.defined()) throw FormatError("tensor data missing for storage '" + storage.key + "'");
  // The last element addressed must lie inside the storage.
  std::int64_t last = offset;
  bool empty = false;
  bool overflow = false;
  for (std::size_t i = 0; i < recipe.sizes.size(); ++i) {
    if (recipe.sizes[i] < 0 || recipe.strides[i] < 0) throw FormatError("negative tensor size");
    if (recipe.sizes[i] == 0) empty = true;
    std::int64_t span = 0;
    overflow = overflow || __builtin_mul_overflow(recipe.sizes[i] - 1, recipe.strides[i], &span) ||
               __builtin_add_overflow(last, span, &last);
  }
  if (empty) return torch::empty(recipe.sizes, data.options());
  if (overflow || offset < 0 || last >= data.numel()) throw FormatError(past_end);
  return data.as_strided(recipe.sizes, recipe.strides, offset).contiguous();
}

}  // namespace tlr::weights
