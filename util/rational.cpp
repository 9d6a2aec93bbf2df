#include "util/rational.h"

#include "util/error.h"

#include <cctype>

namespace twin {

namespace {

thread_local std::size_t digits_limit = kDefaultIntegerDigitsLimit;

// `exact`: `digits` is the count, not a bound from the bit length.
[[noreturn]] void refuse_digits(std::size_t digits, bool exact, const char* direction) {
  throw Error(ErrorKind::Limit, "an integer of " + std::string(exact ? "" : "about ") + std::to_string(digits) +
                                    " digits exceeds the limit of " + std::to_string(digits_limit) +
                                    " digits for conversion " + direction +
                                    " text (the conversion takes time quadratic in the digits)");
}

void check_digits(const BigInt& value) {
  if (digits_limit == 0) return;
  std::size_t bound = decimal_digits_bound(value);
  if (bound <= digits_limit) return;
  // The bound may be one too many: count exactly only then (cheap next to the conversion).
  if (bound == digits_limit + 1 && abs(value) < integer_power(BigInt(10), static_cast<unsigned>(digits_limit)))
    return;
  refuse_digits(bound - 1, false, "to");
}

}  // namespace

std::size_t integer_digits_limit() { return digits_limit; }

IntegerDigitsLimitScope::IntegerDigitsLimitScope(std::size_t limit) : previous_(digits_limit) { digits_limit = limit; }

IntegerDigitsLimitScope::~IntegerDigitsLimitScope() { digits_limit = previous_; }

BigInt integer_power(BigInt base, unsigned exponent) {
  BigInt result = 1;
  while (exponent != 0) {
    if (exponent & 1u) result *= base;
    exponent >>= 1;
    if (exponent != 0) base *= base;
  }
  return result;
}

std::size_t decimal_digits_bound(const BigInt& value) {
  if (value == 0) return 1;
  // bits * log10(2) rounded up, plus one: 0.30103 > log10(2).
  std::size_t bits = boost::multiprecision::msb(abs(value)) + 1;
  return static_cast<std::size_t>(static_cast<double>(bits) * 0.30103) + 1;
}

std::string rational_to_string(const Rational& value) {
  const BigInt num = boost::multiprecision::numerator(value);
  const BigInt den = boost::multiprecision::denominator(value);
  check_digits(num);
  if (den == 1) return num.str();
  check_digits(den);
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
  if (digits_limit > 0) {
    std::size_t count = 0;
    for (std::size_t i = pos; i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.' || text[i] == '_'); ++i)
      count += std::isdigit(static_cast<unsigned char>(text[i])) ? 1 : 0;
    if (count > digits_limit) refuse_digits(count, true, "from");
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
  if (exponent > 0) result *= Rational(integer_power(BigInt(10), static_cast<unsigned>(exponent)));
  if (exponent < 0) result /= Rational(integer_power(BigInt(10), static_cast<unsigned>(-exponent)));
  return negative ? Rational(-result) : result;
}

std::size_t stable_hash(const Rational& value) {
  // FNV-1a over the sign and limbs of the numerator and the denominator: linear in the size,
  // so hashing a huge constant is never the quadratic text conversion.
  std::size_t h = 1469598103934665603ull;
  auto mix = [&h](unsigned long long word) {
    for (int i = 0; i < 8; ++i) {
      h ^= static_cast<unsigned char>(word >> (8 * i));
      h *= 1099511628211ull;
    }
  };
  for (const BigInt& part : {BigInt(boost::multiprecision::numerator(value)), BigInt(boost::multiprecision::denominator(value))}) {
    const auto& backend = part.backend();
    mix(part.sign() < 0 ? 1 : 0);
    mix(backend.size());
    for (std::size_t i = 0; i < backend.size(); ++i) mix(static_cast<unsigned long long>(backend.limbs()[i]));
  }
  return h;
}

double to_double(const Rational& value) { return value.convert_to<double>(); }

}  // namespace twin
