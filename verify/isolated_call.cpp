#include "verify/isolated_call.h"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>

namespace twin::verify {

namespace {

void write_all(int fd, const std::string& data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    left -= static_cast<std::size_t>(w);
  }
}

[[noreturn]] void child(int fd, pid_t parent, const std::function<std::string()>& work, double seconds) {
#ifdef __linux__
  // Die with the parent: a caller killed for taking too long must not leave a solver running.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
  if (::getppid() != parent) std::_Exit(3);
  // A second bound that needs no parent: CPU time (never more than wall time here).
  rlim_t cpu = static_cast<rlim_t>(std::ceil(seconds)) + 2;
  rlimit limit{cpu, cpu + 2};
  ::setrlimit(RLIMIT_CPU, &limit);
  ::signal(SIGXCPU, SIG_DFL);
  ::signal(SIGPIPE, SIG_DFL);
  std::string message;
  try {
    message = "1" + work();
  } catch (const std::exception& e) {
    message = std::string("0") + e.what();
  } catch (...) {
    message = "0unknown exception";
  }
  write_all(fd, message);
  ::close(fd);
  std::_Exit(0);  // no atexit handlers, no destructors of the parent's objects, no stdio flush
}

}  // namespace

IsolatedResult run_isolated(const std::function<std::string()>& work, double seconds) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  IsolatedResult result;
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  int fds[2];
  if (::pipe(fds) != 0) {
    result.why = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  pid_t parent = ::getpid();
  // Unwritten stdio output would otherwise be duplicated if the child flushed it (it does not:
  // it leaves through _Exit), and is best written before a possibly long wait anyway.
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) {
    result.why = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return result;
  }
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1], parent, work, seconds);
  }
  ::close(fds[1]);

  std::string output;
  bool eof = false, timed_out = false;
  while (!eof) {
    double left = seconds - elapsed();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min(left * 1000.0, 1000.0)) + 1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      timed_out = true;  // cannot wait any more: treat as no answer
      break;
    }
    if (ready == 0) continue;
    char buffer[65536];
    ssize_t got = ::read(fds[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) eof = true;
    else output.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.seconds = elapsed();
  if (timed_out) {
    result.status = IsolatedResult::Status::TimedOut;
    result.why = "no answer within " + std::to_string(seconds) + " s";
    return result;
  }
  bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!clean || output.empty()) {
    result.status = IsolatedResult::Status::Failed;
    if (WIFSIGNALED(status)) {
      int sig = WTERMSIG(status);
      result.why = std::string("the child process died of signal ") + std::to_string(sig) +
                   (sig == SIGXCPU || sig == SIGKILL ? " (out of time)" : "");
    } else {
      result.why = "the child process exited without an answer (status " + std::to_string(WEXITSTATUS(status)) + ")";
    }
    return result;
  }
  if (output[0] != '1') {
    result.status = IsolatedResult::Status::Failed;
    result.why = output.substr(1);
    return result;
  }
  result.status = IsolatedResult::Status::Done;
  result.output = output.substr(1);
  return result;
}

}  // namespace twin::verify
