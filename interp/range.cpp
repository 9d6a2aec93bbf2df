#include "interp/range.h"

#include "interp/script_budget.h"
#include "util/error.h"

#include <cstdint>

namespace twin {

RangeValue::RangeValue(std::int64_t start, std::int64_t stop, std::int64_t step, const SourceLocation& where)
    : start_(start), stop_(stop), step_(step), length_(0) {
  if (step == 0) throw Error(ErrorKind::Value, "range step must not be zero", where);
  // In 128 bits: stop - start may not fit in 64.
  __int128 span = step > 0 ? static_cast<__int128>(stop) - start : static_cast<__int128>(start) - stop;
  __int128 stride = step > 0 ? static_cast<__int128>(step) : -static_cast<__int128>(step);
  __int128 length = span > 0 ? (span + stride - 1) / stride : 0;
  // len() answers an integer of 64 bits: a range longer than that has no length to give.
  if (length > INT64_MAX)
    throw Error(ErrorKind::Value, "range(" + std::to_string(start) + ", " + std::to_string(stop) + ", " +
                                      std::to_string(step) + ") has more than 9223372036854775807 elements",
                where);
  length_ = static_cast<std::int64_t>(length);
}

std::string RangeValue::to_string() const {
  std::string text = "range(" + std::to_string(start_) + ", " + std::to_string(stop_);
  if (step_ != 1) text += ", " + std::to_string(step_);
  return text + ")";
}

bool RangeValue::equals(const Object& other) const {
  auto* r = dynamic_cast<const RangeValue*>(&other);
  if (!r) return false;
  // Equal when they hold the same elements, as in Python: range(0) == range(2, 2).
  if (length_ != r->length_) return false;
  if (length_ == 0) return true;
  if (start_ != r->start_) return false;
  return length_ == 1 || step_ == r->step_;
}

std::optional<Value> RangeValue::member(const std::string& name) {
  if (name == "start") return Value(static_cast<long long>(start_));
  if (name == "stop") return Value(static_cast<long long>(stop_));
  if (name == "step") return Value(static_cast<long long>(step_));
  return std::nullopt;
}

bool RangeValue::contains(const Rational& value) const {
  if (!is_integer(value) || length_ == 0) return false;
  const BigInt& n = boost::multiprecision::numerator(value);
  BigInt offset = n - BigInt(start_);
  if (offset % BigInt(step_) != 0) return false;
  BigInt index = offset / BigInt(step_);
  return index >= 0 && index < BigInt(length_);
}

ListPtr RangeValue::to_list(const SourceLocation& where) const {
  reserve_memory(bytes_for(static_cast<std::size_t>(length_), sizeof(Value)), where);
  auto list = make_list();
  list->items.reserve(static_cast<std::size_t>(length_));
  for (std::int64_t i = 0; i < length_; ++i) list->items.emplace_back(static_cast<long long>(at(i)));
  return list;
}

}  // namespace twin
