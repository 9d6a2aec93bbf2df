// What the libFuzzer targets share: how a target reports a broken invariant, and a reader that
// turns fuzz bytes into choices for the targets that generate structured inputs.
//
// A target's contract is always the same shape: for any input, the code under test either
// answers or throws twin::Error (a clear error is a correct answer to a bad input); a crash,
// a sanitizer report, a hang, another exception, or a broken invariant is a bug. `broken`
// prints what went wrong and aborts, so libFuzzer saves the input under build-fuzz/artifacts/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace twin::fuzz {

// Reports a broken invariant of `target` on `input` and aborts. Long inputs are cut for the
// log (the whole input is in the saved artifact).
[[noreturn]] inline void broken(const char* target, const std::string& what, std::string_view input,
                                const std::string& detail) {
  constexpr std::size_t shown = 4000;
  std::string text(input.substr(0, shown));
  std::fprintf(stderr, "\n=== %s: %s\n--- input (%zu bytes%s):\n%s\n--- detail:\n%s\n", target, what.c_str(),
               input.size(), input.size() > shown ? ", cut" : "", text.c_str(), detail.c_str());
  std::abort();
}

// Reads fuzz bytes as a sequence of choices; past the end every choice is 0, so every input,
// however short, describes one complete structure.
class ChoiceReader {
 public:
  ChoiceReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  // A choice in [0, n) (n > 0).
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : next() % n; }
  bool flip() { return next() & 1; }

 private:
  std::uint8_t next() { return position_ < size_ ? data_[position_++] : 0; }
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

}  // namespace twin::fuzz
