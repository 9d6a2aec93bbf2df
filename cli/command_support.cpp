// What the commands share: exit statuses, error reporting, the large-stack thread, options.
#include "cli/command.h"

#include "interp/lib/libraries.h"

#include <pthread.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>

namespace twin::cli {

int exit_status(const Error& error) {
  return error.kind() == ErrorKind::Assertion ? kExitPropertyFails : kExitBadInput;
}

int report(const Error& error) {
  std::cout.flush();
  std::fflush(stdout);
  std::string text = error.format();
  if (text.empty() || text.back() != '\n') text += '\n';
  std::cerr << text << std::flush;
  return exit_status(error);
}

namespace {

constexpr std::size_t kLargeStackBytes = std::size_t{512} << 20;

struct ThreadCall {
  const std::function<int()>* body;
  int status = kExitBadInput;
};

int call_reporting_internal_errors(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& error) {
    return report(error);
  } catch (const std::exception& error) {
    std::cout.flush();
    std::cerr << "twin: internal error: " << error.what() << "\n";
  } catch (...) {
    std::cout.flush();
    std::cerr << "twin: internal error: unknown exception\n";
  }
  return kExitBadInput;
}

}  // namespace

int run_with_large_stack(const std::function<int()>& body) {
  ThreadCall call{&body};
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, kLargeStackBytes);
  pthread_t thread;
  int failed = pthread_create(
      &thread, &attributes,
      [](void* data) -> void* {
        auto* call = static_cast<ThreadCall*>(data);
        call->status = call_reporting_internal_errors(*call->body);
        return nullptr;
      },
      &call);
  pthread_attr_destroy(&attributes);
  if (failed) return call_reporting_internal_errors(body);  // no memory for the stack: run here
  // Signals go to the worker, which may wait for them (the REPL's Ctrl-C at the prompt).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  pthread_join(thread, nullptr);
  return call.status;
}

bool take_allow_read(const Arguments& arguments, std::size_t& index, std::vector<std::filesystem::path>& dirs) {
  const std::string& argument = arguments[index];
  const std::string option = "--allow-read";
  if (argument == option) {
    if (index + 1 >= arguments.size()) throw UsageError("--allow-read needs a directory");
    dirs.emplace_back(arguments[index + 1]);
    index += 2;
    return true;
  }
  if (argument.starts_with(option + "=")) {
    std::string dir = argument.substr(option.size() + 1);
    if (dir.empty()) throw UsageError("--allow-read needs a directory");
    dirs.emplace_back(dir);
    index += 1;
    return true;
  }
  return false;
}

bool take_option_value(const Arguments& arguments, std::size_t& index, const std::string& name, std::string& value) {
  const std::string& argument = arguments[index];
  if (argument == name) {
    if (index + 1 >= arguments.size()) throw UsageError(name + " needs a value");
    value = arguments[index + 1];
    index += 2;
    return true;
  }
  if (argument.starts_with(name + "=")) {
    value = argument.substr(name.size() + 1);
    index += 1;
    return true;
  }
  return false;
}

double parse_seconds(const std::string& text, const std::string& option) {
  char* end = nullptr;
  double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(seconds > 0) || !std::isfinite(seconds))
    throw UsageError(option + " takes a positive number of seconds, not '" + text + "'");
  return seconds;
}

std::size_t parse_size(const std::string& text, const std::string& option) {
  auto fail = [&]() -> std::size_t {
    throw UsageError(option + " takes a size such as 256M, 2G or 1048576 (bytes), not '" + text + "'");
  };
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return fail();
  std::size_t number = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.ends_with("IB")) unit.resize(unit.size() - 2);
  else if (unit.ends_with("B")) unit.resize(unit.size() - 1);
  int shift = 0;
  if (unit == "K") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  else if (!unit.empty()) return fail();
  if (number == 0 || number > (SIZE_MAX >> shift)) return fail();
  return number << shift;
}

InterpreterOptions options_granted_to_scripts() {
  InterpreterOptions options;
  options.allow_processes = true;
  options.verdict_cache = VerdictCacheAccess::ReadWrite;
  return options;
}

void unknown_option(const std::string& option) { throw UsageError("unknown option " + option); }

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

TerminalProgress::TerminalProgress(bool enabled) : enabled_(enabled), started_(now_seconds()) {}

void TerminalProgress::progress(const std::string& text, double seconds) {
  if (!enabled_) return;
  double now = now_seconds();
  if (seconds < 1.0 || (last_ >= 0 && now - last_ < 0.1)) return;
  last_ = now;
  shown_ = true;
  std::fprintf(stderr, "\r\033[K  [%5.1fs] %.110s", seconds, text.c_str());
  std::fflush(stderr);
}

void TerminalProgress::warning(const std::string& text) {
  clear();
  std::cout.flush();
  std::fprintf(stderr, "twin: warning: %s\n", text.c_str());
  std::fflush(stderr);
}

void TerminalProgress::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

std::function<void(const Diagnostic&)> TerminalProgress::diagnostics() {
  return [this](const Diagnostic& d) {
    switch (d.kind) {
      case Diagnostic::Kind::Progress: progress(d.source + ": " + d.message, now_seconds() - started_); break;
      case Diagnostic::Kind::ProgressDone: clear(); break;
      case Diagnostic::Kind::Warning: warning(d.source.empty() ? d.message : d.source + ": " + d.message); break;
    }
  };
}

void open_for_scripts(Interpreter& interpreter, TerminalProgress& progress) {
  open_all_libraries(interpreter);
  interpreter.set_diagnostics(progress.diagnostics());
}

}  // namespace twin::cli
