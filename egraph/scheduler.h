// Rule schedulers: which rules search, and how many matches they may apply, per iteration.
//
// SimpleScheduler applies every match of every rule, every iteration.
// BackoffScheduler is egg's: each rule has a match limit (default 1000) and a ban length
// (default 5 iterations). A search that finds more than limit << times_banned matches is
// discarded and the rule is banned for ban_length << times_banned iterations (then
// times_banned grows, so a rule that keeps exploding is banned longer and allowed more
// matches next time). The runner may only stop at saturation when no rule is banned;
// otherwise can_stop() fast-forwards the bans so the banned rules get another turn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace twin::egraph {

enum class SchedulerKind { Backoff, Simple };

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Before rule `rule` searches in `iteration`: the most matches it may collect
  // (0: skip the rule this iteration).
  virtual std::size_t search_limit(std::size_t iteration, std::size_t rule) = 0;
  // After the search found `matches`: whether to apply them.
  virtual bool accept(std::size_t iteration, std::size_t rule, std::size_t matches) = 0;
  // Whether the run may stop as saturated after `iteration`.
  virtual bool can_stop(std::size_t iteration) = 0;
};

class SimpleScheduler final : public Scheduler {
 public:
  std::size_t search_limit(std::size_t, std::size_t) override { return SIZE_MAX; }
  bool accept(std::size_t, std::size_t, std::size_t) override { return true; }
  bool can_stop(std::size_t) override { return true; }
};

class BackoffScheduler final : public Scheduler {
 public:
  explicit BackoffScheduler(std::size_t match_limit = 1000, std::size_t ban_length = 5)
      : match_limit_(match_limit), ban_length_(ban_length) {}
  std::size_t search_limit(std::size_t iteration, std::size_t rule) override;
  bool accept(std::size_t iteration, std::size_t rule, std::size_t matches) override;
  bool can_stop(std::size_t iteration) override;

  struct RuleStats {
    std::size_t times_applied = 0;
    std::size_t banned_until = 0;
    std::size_t times_banned = 0;
  };
  const RuleStats& stats(std::size_t rule) { return entry(rule); }

 private:
  RuleStats& entry(std::size_t rule);
  std::size_t threshold(const RuleStats& s) const;

  std::size_t match_limit_;
  std::size_t ban_length_;
  std::vector<RuleStats> stats_;
};

std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind);

}  // namespace twin::egraph
