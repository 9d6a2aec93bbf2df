#include "util/rational.h"

#include <cctype>

namespace twin {

std::string rational_to_string(const Rational& value) {
  const BigInt num = boost::multiprecision::numerator(value);
  const BigInt den = boost::multiprecision::denominator(value);
  if (den == 1) return num.str();
  return num.str() + "/" + den.str();
}

std::optional<Rational> parse_rational(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::size_t pos = 0;
  bool negative = false;
  if (text[pos] == '-' || text[pos] == '+') {
    negative = text[pos] == '-';
    ++pos;
  }
  // Fraction form "a/b".
  if (auto slash = text.find('/'); slash != std::string::npos) {
    auto num = parse_rational(text.substr(pos, slash - pos));
    auto den = parse_rational(text.substr(slash + 1));
    if (!num || !den || *den == 0) return std::nullopt;
    Rational r = *num / *den;
    return negative ? Rational(-r) : r;
  }
  BigInt digits = 0;
  int fraction_digits = 0;
  bool seen_digit = false, seen_point = false;
  for (; pos < text.size(); ++pos) {
    char c = text[pos];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = digits * 10 + (c - '0');
      seen_digit = true;
      if (seen_point) ++fraction_digits;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else if (c == '_') {
      continue;  // digit separator: 1_000_000
    } else {
      break;
    }
  }
  if (!seen_digit) return std::nullopt;
  long exponent = -fraction_digits;
  if (pos < text.size()) {
    if (text[pos] != 'e' && text[pos] != 'E') return std::nullopt;
    ++pos;
    bool exp_negative = false;
    if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
      exp_negative = text[pos] == '-';
      ++pos;
    }
    if (pos >= text.size()) return std::nullopt;
    long e = 0;
    for (; pos < text.size(); ++pos) {
      if (!std::isdigit(static_cast<unsigned char>(text[pos]))) return std::nullopt;
      e = e * 10 + (text[pos] - '0');
      if (e > 100000) return std::nullopt;  // refuse absurd exponents rather than exhaust memory
    }
    exponent += exp_negative ? -e : e;
  }
  Rational result(digits);
  if (exponent > 0) result *= Rational(boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(exponent)));
  if (exponent < 0) result /= Rational(boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(-exponent)));
  return negative ? Rational(-result) : result;
}

std::size_t stable_hash(const Rational& value) {
  // FNV-1a over the canonical text: slow-ish but only used for leaf interning.
  std::size_t h = 1469598103934665603ull;
  for (char c : rational_to_string(value)) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

double to_double(const Rational& value) { return value.convert_to<double>(); }

}  // namespace twin
