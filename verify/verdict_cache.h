// The verdict cache: re-verifying unchanged rules takes seconds.
//
// A verdict is stored under a key that hashes everything it depends on: the verifier's
// version, the options that change the outcome (method, trials, seed), and the canonical
// text of the rule without its @verified annotations (so recording a verdict in the file
// does not invalidate it), plus any declarations the rule's meaning depends on. Entries are
// small JSON files in $TWIN_CACHE_DIR, else $XDG_CACHE_HOME/twin/verify, else
// ~/.cache/twin/verify. A missing, unreadable or corrupt entry is a miss; writing is
// best-effort (a read-only cache directory only costs time).
#pragma once

#include "verify/rule_verifier.h"

#include <filesystem>
#include <optional>
#include <string>

namespace twin::verify {

class VerdictCache {
 public:
  // `directory` empty: the default location described above.
  explicit VerdictCache(std::filesystem::path directory = {});

  static std::string key(const std::string& rule_text, const VerifyOptions& options);

  std::optional<RuleReport> find(const std::string& key) const;
  void store(const std::string& key, const RuleReport& report) const;
  const std::filesystem::path& directory() const { return directory_; }

 private:
  std::filesystem::path directory_;
};

}  // namespace twin::verify
