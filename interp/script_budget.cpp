#include "interp/script_budget.h"

#include "util/error.h"

#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <limits>

namespace twin {

namespace {

thread_local ScriptBudget* current_budget = nullptr;

constexpr std::uint64_t kStepsPerClockCheck = 1024;
constexpr std::uint64_t kStepsPerMemoryCheck = 65536;
constexpr std::size_t kLargeAllocation = std::size_t{64} << 10;
constexpr std::size_t kSmallAllocationsPerCheck = std::size_t{1} << 20;

std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

}  // namespace

std::string format_bytes(std::size_t bytes) {
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, value == std::floor(value) ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

std::size_t ScriptBudget::heap_in_use() {
  struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

ScriptBudget::ScriptBudget(Limits limits) : limits_(limits), heap_baseline_(heap_in_use()) {}

ScriptBudget* ScriptBudget::current() { return current_budget; }

ScriptBudget::Scope::Scope(ScriptBudget& budget) : budget_(budget), previous_current_(current_budget) {
  if (budget_.depth_++ == 0) {
    budget_.steps_ = 0;
    budget_.unchecked_bytes_ = 0;
    budget_.exhausted_message_.clear();
    budget_.deadline_.reset();
    if (budget_.limits_.time_seconds > 0) {
      // A deadline past what the clock can count (1e10 s overflows its nanoseconds) never comes.
      auto now = Clock::now();
      double room = std::chrono::duration<double>(Clock::time_point::max() - now).count();
      if (budget_.limits_.time_seconds < room / 2) {
        auto span = std::chrono::duration<double>(budget_.limits_.time_seconds);
        budget_.deadline_ = now + std::chrono::duration_cast<Clock::duration>(span);
      }
    }
  }
  current_budget = &budget_;
}

ScriptBudget::Scope::~Scope() {
  --budget_.depth_;
  current_budget = previous_current_;
}

void ScriptBudget::exhaust(std::string message, const SourceLocation& where) {
  exhausted_message_ = message;
  throw Error(ErrorKind::Limit, std::move(message), where);
}

void ScriptBudget::step(const SourceLocation& where) {
  ++steps_;
  if (exhausted()) exhaust(exhausted_message_, where);
  if (limits_.steps > 0 && steps_ > limits_.steps)
    exhaust("step limit of " + std::to_string(limits_.steps) + " steps reached (a step is a loop iteration or a call)",
            where);
  if (deadline_ && steps_ % kStepsPerClockCheck == 0) check_deadline(where);
  if (limits_.memory_bytes > 0 && steps_ % kStepsPerMemoryCheck == 0) check_memory(0, where);
}

void ScriptBudget::reserve(std::size_t bytes, const SourceLocation& where) {
  if (limits_.memory_bytes == 0) return;
  if (exhausted()) exhaust(exhausted_message_, where);
  if (bytes >= limits_.memory_bytes) check_memory(bytes, where);  // also true for absurd sizes
  unchecked_bytes_ += bytes;
  if (bytes < kLargeAllocation && unchecked_bytes_ < kSmallAllocationsPerCheck) return;
  unchecked_bytes_ = 0;
  check_memory(bytes, where);
}

std::size_t ScriptBudget::heap_used() const {
  std::size_t heap = heap_in_use();
  return heap > heap_baseline_ ? heap - heap_baseline_ : 0;
}

bool ScriptBudget::memory_exceeded() const { return limits_.memory_bytes > 0 && heap_used() > limits_.memory_bytes; }

void ScriptBudget::check_memory(std::size_t extra, const SourceLocation& where) {
  if (limits_.memory_bytes == 0) return;
  std::size_t used = heap_used();
  if (extra <= limits_.memory_bytes && used <= limits_.memory_bytes - extra) return;
  std::string message = "memory limit of " + format_bytes(limits_.memory_bytes) + " reached: ";
  if (extra > 0)
    message += "this needs " + format_bytes(extra) + " more, and the script already holds " + format_bytes(used);
  else
    message += "the script holds " + format_bytes(used);
  exhaust(std::move(message), where);
}

void ScriptBudget::check_deadline(const SourceLocation& where) {
  if (deadline_passed()) deadline_exceeded(where);
}

void ScriptBudget::deadline_exceeded(const SourceLocation& where) {
  exhaust("time limit of " + format_seconds(limits_.time_seconds) + " s reached (the host's deadline)", where);
}

double ScriptBudget::seconds_left() const {
  if (!deadline_) return std::numeric_limits<double>::infinity();
  double left = std::chrono::duration<double>(*deadline_ - Clock::now()).count();
  return left > 0 ? left : 0;
}

void reserve_memory(std::size_t bytes, const SourceLocation& where) {
  if (ScriptBudget* budget = ScriptBudget::current()) budget->reserve(bytes, where);
}

}  // namespace twin
