#include "util/readable_number.h"

#include <cctype>
#include <charconv>

namespace twin {

std::string readable_number(const Rational& value) {
  const BigInt num = boost::multiprecision::numerator(value);
  const BigInt den = boost::multiprecision::denominator(value);
  static const BigInt kShort = 1'000'000;
  if (den == 1 && decimal_digits_bound(num) <= 18) return num.str();
  if (den != 1 && abs(num) < kShort && den < kShort) return num.str() + "/" + den.str();
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, to_double(value));
  if (error != std::errc()) return "?";
  return std::string(buffer, end);
}

std::string readable_numbers_in(const std::string& text) {
  auto digit = [&](std::size_t i) { return i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); };
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    // A run of digits not inside a name (x2, mul_4/...) followed by '/' and more digits.
    bool starts_number = digit(i) && (i == 0 || !(std::isalnum(static_cast<unsigned char>(text[i - 1])) ||
                                                  text[i - 1] == '_' || text[i - 1] == '.'));
    if (!starts_number) {
      out += text[i++];
      continue;
    }
    std::size_t end_num = i;
    while (digit(end_num)) ++end_num;
    std::size_t end_den = end_num + 1;
    if (end_num < text.size() && text[end_num] == '/' && digit(end_den)) {
      while (digit(end_den)) ++end_den;
      bool inside_name = end_den < text.size() &&
                         (std::isalpha(static_cast<unsigned char>(text[end_den])) || text[end_den] == '_');
      if (!inside_name && (end_num - i > 6 || end_den - end_num - 1 > 6)) {
        Rational value(BigInt(text.substr(i, end_num - i)), BigInt(text.substr(end_num + 1, end_den - end_num - 1)));
        out += readable_number(value);
        i = end_den;
        continue;
      }
    }
    out.append(text, i, end_num - i);
    i = end_num;
  }
  return out;
}

}  // namespace twin
