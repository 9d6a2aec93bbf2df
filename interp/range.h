// The value `range(start, stop, step)` makes: a lazy arithmetic sequence of integers, as in
// Python 3. It holds three numbers, never its elements, so `len(range(50000000))` is O(1) and
// `for i in range(n)` allocates nothing per element. It prints as `range(0, 5)`; indexing,
// `len`, `contains`, iteration and equality (same elements) are O(1) or O(n) without a list.
// `list(r)` makes the list when one is wanted (counted against the memory limit).
#pragma once

#include "interp/value.h"

#include <cstdint>
#include <optional>

namespace twin {

class RangeValue : public Object {
 public:
  // Throws twin::Error for a zero step.
  RangeValue(std::int64_t start, std::int64_t stop, std::int64_t step, const SourceLocation& where = {});

  std::string type_name() const override { return "range"; }
  std::string to_string() const override;
  bool equals(const Object& other) const override;
  std::optional<Value> member(const std::string& name) override;
  std::vector<std::string> member_names() const override { return {"start", "stop", "step"}; }

  std::int64_t length() const { return length_; }
  // The element at 0 <= index < length().
  std::int64_t at(std::int64_t index) const { return start_ + index * step_; }
  bool contains(const Rational& value) const;
  // The elements as a list (reserving their memory first).
  ListPtr to_list(const SourceLocation& where) const;

 private:
  std::int64_t start_, stop_, step_, length_;
};

}  // namespace twin
