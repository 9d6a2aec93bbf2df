// The restricted pickle reader of capture/torch_pickle.h: a stack machine over the opcodes
// torch.save's pickles use, whose only callables are tensor rebuilding and an empty
// OrderedDict. Every read is bounds-checked; stacks, memo and nesting are bounded.
#include "capture/torch_pickle.h"

#include "capture/pt2_archive.h"
#include "capture/zip_archive.h"
#include "util/error.h"

#include <cstring>
#include <map>
#include <memory>
#include <optional>

namespace twin::capture {

namespace {

struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

struct PyValue {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor, Mark } kind = Kind::None;
  std::int64_t integer = 0;
  double real = 0;
  std::string text;            // String; Global: "module.name"; Storage: its entry key
  std::vector<PyRef> items;    // Tuple, List; Dict: key, value, key, value...
  long long dtype_code = 0;    // Storage
  std::optional<ops::Tensor> tensor;
};

PyRef make(PyValue::Kind kind) {
  auto v = std::make_shared<PyValue>();
  v->kind = kind;
  return v;
}

// torch.<X>Storage -> the archive dtype code (capture/pt2_archive.h).
std::optional<long long> storage_dtype(const std::string& global) {
  static const std::map<std::string, long long> codes = {
      {"torch.ByteStorage", 1},   {"torch.CharStorage", 2},   {"torch.ShortStorage", 3}, {"torch.IntStorage", 4},
      {"torch.LongStorage", 5},   {"torch.HalfStorage", 6},   {"torch.FloatStorage", 7}, {"torch.DoubleStorage", 8},
      {"torch.BoolStorage", 12},  {"torch.BFloat16Storage", 13}};
  auto it = codes.find(global);
  if (it == codes.end()) return std::nullopt;
  return it->second;
}

class Unpickler {
 public:
  Unpickler(std::string_view pickle, const ZipArchive& zip, std::string prefix, std::string file)
      : p_(pickle), zip_(zip), prefix_(std::move(prefix)), file_(std::move(file)) {}

  PyRef run() {
    while (true) {
      if (++steps_ > 1000000) bad("too many pickle operations");
      unsigned char op = byte();
      switch (op) {
        case 0x80: byte(); break;                         // PROTO
        case 0x95: take(8); break;                        // FRAME
        case '.': return pop();                           // STOP
        case '(': push(make(PyValue::Kind::Mark)); break; // MARK
        case 'N': push(make(PyValue::Kind::None)); break;
        case 0x88: case 0x89: {                           // NEWTRUE, NEWFALSE
          auto v = make(PyValue::Kind::Bool);
          v->integer = op == 0x88;
          push(v);
          break;
        }
        case 'K': integer(le(1)); break;                  // BININT1
        case 'M': integer(le(2)); break;                  // BININT2
        case 'J': integer(static_cast<std::int32_t>(le(4))); break;  // BININT
        case 0x8a: {                                      // LONG1
          std::size_t n = byte();
          if (n > 8) bad("an integer wider than 64 bits");
          std::uint64_t v = n ? le(static_cast<int>(n)) : 0;
          if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~std::uint64_t{0} << (8 * n);  // sign-extend
          integer(static_cast<std::int64_t>(v));
          break;
        }
        case 'G': {                                       // BINFLOAT: big-endian double
          std::uint64_t bits = 0;
          for (unsigned char c : take(8)) bits = (bits << 8) | c;
          auto v = make(PyValue::Kind::Float);
          std::memcpy(&v->real, &bits, 8);
          push(v);
          break;
        }
        case 'X': string(le(4)); break;                   // BINUNICODE
        case 0x8c: string(byte()); break;                 // SHORT_BINUNICODE
        case 0x8d: string(le(8)); break;                  // BINUNICODE8
        case 'c': {                                       // GLOBAL module\nname\n
          auto v = make(PyValue::Kind::Global);
          v->text = line() + ".";
          v->text += line();
          push(v);
          break;
        }
        case 0x93: {                                      // STACK_GLOBAL
          PyRef name = pop(), module = pop();
          if (module->kind != PyValue::Kind::String || name->kind != PyValue::Kind::String) bad("STACK_GLOBAL of non-strings");
          auto v = make(PyValue::Kind::Global);
          v->text = module->text + "." + name->text;
          push(v);
          break;
        }
        case 'q': memo(byte()); break;                    // BINPUT
        case 'r': memo(le(4)); break;                     // LONG_BINPUT
        case 0x94: memo(memo_.size()); break;             // MEMOIZE
        case 'h': push(recall(byte())); break;            // BINGET
        case 'j': push(recall(le(4))); break;             // LONG_BINGET
        case ')': push(make(PyValue::Kind::Tuple)); break;
        case ']': push(make(PyValue::Kind::List)); break;
        case '}': push(make(PyValue::Kind::Dict)); break;
        case 0x85: case 0x86: case 0x87: {                // TUPLE1..3
          auto v = make(PyValue::Kind::Tuple);
          v->items.resize(op - 0x84);
          for (std::size_t i = v->items.size(); i-- > 0;) v->items[i] = pop();
          push(v);
          break;
        }
        case 't': {                                       // TUPLE
          auto v = make(PyValue::Kind::Tuple);
          v->items = pop_mark();
          push(v);
          break;
        }
        case 'l': {                                       // LIST
          auto v = make(PyValue::Kind::List);
          v->items = pop_mark();
          push(v);
          break;
        }
        case 'a': {                                       // APPEND
          PyRef item = pop();
          container(PyValue::Kind::List)->items.push_back(item);
          break;
        }
        case 'e': {                                       // APPENDS
          auto items = pop_mark();
          auto& list = container(PyValue::Kind::List)->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 's': {                                       // SETITEM
          PyRef value = pop(), key = pop();
          auto& dict = container(PyValue::Kind::Dict)->items;
          dict.push_back(key);
          dict.push_back(value);
          break;
        }
        case 'u': {                                       // SETITEMS
          auto items = pop_mark();
          if (items.size() % 2) bad("SETITEMS with an odd count");
          auto& dict = container(PyValue::Kind::Dict)->items;
          dict.insert(dict.end(), items.begin(), items.end());
          break;
        }
        case 'Q': push(persistent(pop())); break;         // BINPERSID
        case 'R': {                                       // REDUCE
          PyRef args = pop(), callable = pop();
          push(call(callable, args));
          break;
        }
        default:
          bad("pickle opcode 0x" + hex(op) + " is outside what torch.save writes for tensors");
      }
      if (stack_.size() > 100000) bad("the pickle stack grows too deep");
    }
  }

 private:
  std::string_view p_;
  std::size_t at_ = 0, steps_ = 0;
  const ZipArchive& zip_;
  std::string prefix_, file_;
  std::vector<PyRef> stack_;
  std::vector<PyRef> memo_;

  [[noreturn]] void bad(const std::string& what) const {
    throw Error(ErrorKind::Value, file_ + ": the sample inputs (torch.save) cannot be read: " + what);
  }
  static std::string hex(unsigned char c) {
    const char* digits = "0123456789abcdef";
    return {digits[c >> 4], digits[c & 15]};
  }
  std::string_view take(std::size_t n) {
    if (n > p_.size() - at_) bad("the pickle is cut short");
    std::string_view s = p_.substr(at_, n);
    at_ += n;
    return s;
  }
  unsigned char byte() { return static_cast<unsigned char>(take(1)[0]); }
  std::uint64_t le(int n) {
    std::string_view s = take(static_cast<std::size_t>(n));
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
    return v;
  }
  std::string line() {
    std::size_t end = p_.find('\n', at_);
    if (end == std::string_view::npos || end - at_ > 256) bad("a GLOBAL without its newline");
    std::string s(p_.substr(at_, end - at_));
    at_ = end + 1;
    return s;
  }
  void push(PyRef v) { stack_.push_back(std::move(v)); }
  PyRef pop() {
    if (stack_.empty() || stack_.back()->kind == PyValue::Kind::Mark) bad("the pickle pops an empty stack");
    PyRef v = stack_.back();
    stack_.pop_back();
    return v;
  }
  std::vector<PyRef> pop_mark() {
    std::vector<PyRef> items;
    while (!stack_.empty() && stack_.back()->kind != PyValue::Kind::Mark) {
      items.push_back(stack_.back());
      stack_.pop_back();
    }
    if (stack_.empty()) bad("no MARK on the stack");
    stack_.pop_back();
    return {items.rbegin(), items.rend()};
  }
  PyRef container(PyValue::Kind kind) {
    if (stack_.empty() || stack_.back()->kind != kind) bad("appending to something that is not a list or dict");
    return stack_.back();
  }
  void integer(std::int64_t v) {
    auto x = make(PyValue::Kind::Int);
    x->integer = v;
    push(x);
  }
  void string(std::uint64_t n) {
    auto x = make(PyValue::Kind::String);
    x->text = std::string(take(n));
    push(x);
  }
  void memo(std::size_t index) {
    if (stack_.empty()) bad("memoizing an empty stack");
    if (index > 1000000) bad("a memo index out of range");
    if (memo_.size() <= index) memo_.resize(index + 1);
    memo_[index] = stack_.back();
  }
  PyRef recall(std::size_t index) {
    if (index >= memo_.size() || !memo_[index]) bad("a memo read of an unset entry");
    return memo_[index];
  }

  // ('storage', torch.FloatStorage, key, location, numel): the storage entry data/KEY.
  PyRef persistent(const PyRef& id) {
    if (id->kind != PyValue::Kind::Tuple || id->items.size() < 4 || id->items[0]->text != "storage" ||
        id->items[1]->kind != PyValue::Kind::Global || id->items[2]->kind != PyValue::Kind::String)
      bad("a persistent id that is not a storage reference");
    auto code = storage_dtype(id->items[1]->text);
    if (!code) bad("storage type " + id->items[1]->text + " is not one Twin reads");
    auto s = make(PyValue::Kind::Storage);
    s->text = id->items[2]->text;
    s->dtype_code = *code;
    return s;
  }

  std::vector<std::int64_t> ints(const PyRef& tuple, const char* what) {
    if (tuple->kind != PyValue::Kind::Tuple) bad(std::string(what) + " is not a tuple");
    std::vector<std::int64_t> out;
    for (const auto& x : tuple->items) {
      if (x->kind != PyValue::Kind::Int) bad(std::string(what) + " holds a non-integer");
      out.push_back(x->integer);
    }
    return out;
  }

  PyRef call(const PyRef& callable, const PyRef& args) {
    if (callable->kind != PyValue::Kind::Global) bad("a call of something that is not a global");
    if (args->kind != PyValue::Kind::Tuple) bad("a call whose arguments are not a tuple");
    const std::string& f = callable->text;
    if (f == "collections.OrderedDict" && args->items.empty()) return make(PyValue::Kind::Dict);
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
      // (storage, storage_offset, size, stride, [requires_grad, backward_hooks, metadata])
      if (args->items.size() < 4) bad(f + " with too few arguments");
      const PyRef& storage = args->items[0];
      if (storage->kind != PyValue::Kind::Storage || args->items[1]->kind != PyValue::Kind::Int)
        bad(f + " without a storage and an offset");
      std::string entry = prefix_ + "data/" + storage->text;
      auto t = make(PyValue::Kind::Tensor);
      t->tensor = tensor_from_storage(zip_.read(entry), storage->dtype_code, ints(args->items[2], "size"),
                                      ints(args->items[3], "stride"), args->items[1]->integer, file_ + ": " + entry);
      return t;
    }
    bad("it calls " + f + ", which Twin does not run");
  }
};

void collect(const PyRef& v, std::vector<ops::Tensor>& out, int depth) {
  if (depth > 64) return;
  if (v->kind == PyValue::Kind::Tensor) out.push_back(*v->tensor);
  else if (v->kind == PyValue::Kind::Tuple || v->kind == PyValue::Kind::List)
    for (const auto& x : v->items) collect(x, out, depth + 1);
  else if (v->kind == PyValue::Kind::Dict)
    for (std::size_t i = 1; i < v->items.size(); i += 2) collect(v->items[i], out, depth + 1);
}

}  // namespace

std::vector<ops::Tensor> read_torch_save_tensors(std::string_view bytes, const std::string& file) {
  ZipArchive zip = ZipArchive::parse(bytes, file);
  std::string pickle_entry;
  for (const auto& e : zip.entries()) {
    const std::string& n = e.name;
    if (n == "data.pkl" || (n.size() > 9 && n.compare(n.size() - 9, 9, "/data.pkl") == 0 && n.find('/') == n.size() - 9)) {
      pickle_entry = n;
      break;
    }
  }
  if (pickle_entry.empty()) throw Error(ErrorKind::Value, file + ": not a torch.save file (no data.pkl)");
  std::string prefix = pickle_entry.substr(0, pickle_entry.size() - 8);
  Unpickler unpickler(zip.read(pickle_entry), zip, prefix, file);
  std::vector<ops::Tensor> out;
  collect(unpickler.run(), out, 0);
  return out;
}

}  // namespace twin::capture
