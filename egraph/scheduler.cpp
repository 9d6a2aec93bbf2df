#include "egraph/scheduler.h"

#include <algorithm>

namespace twin::egraph {

BackoffScheduler::RuleStats& BackoffScheduler::entry(std::size_t rule) {
  if (rule >= stats_.size()) stats_.resize(rule + 1);
  return stats_[rule];
}

std::size_t BackoffScheduler::threshold(const RuleStats& s) const {
  if (s.times_banned >= 48 || match_limit_ > (SIZE_MAX >> s.times_banned)) return SIZE_MAX - 1;
  return match_limit_ << s.times_banned;
}

std::size_t BackoffScheduler::search_limit(std::size_t iteration, std::size_t rule) {
  RuleStats& s = entry(rule);
  if (iteration < s.banned_until) return 0;
  return threshold(s) + 1;  // one more than allowed, to detect an explosion
}

bool BackoffScheduler::accept(std::size_t iteration, std::size_t rule, std::size_t matches) {
  RuleStats& s = entry(rule);
  if (matches > threshold(s)) {
    std::size_t length = s.times_banned >= 48 ? SIZE_MAX / 4 : ban_length_ << s.times_banned;
    s.times_banned += 1;
    s.banned_until = iteration + length;
    return false;
  }
  s.times_applied += 1;
  return true;
}

bool BackoffScheduler::can_stop(std::size_t iteration) {
  std::size_t min_ban = SIZE_MAX;
  for (const RuleStats& s : stats_)
    if (s.banned_until > iteration) min_ban = std::min(min_ban, s.banned_until);
  if (min_ban == SIZE_MAX) return true;
  // Fast-forward: shift every ban so the earliest one ends now.
  std::size_t delta = min_ban - iteration;
  for (RuleStats& s : stats_)
    if (s.banned_until > iteration) s.banned_until -= delta;
  return false;
}

std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind) {
  if (kind == SchedulerKind::Simple) return std::make_unique<SimpleScheduler>();
  return std::make_unique<BackoffScheduler>();
}

}  // namespace twin::egraph
