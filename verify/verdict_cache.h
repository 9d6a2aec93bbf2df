// The verdict cache: re-verifying unchanged rules takes seconds, and a cache can never make a
// wrong rule "proved".
//
// A verdict is stored under a key that hashes everything it depends on: the verifier's
// version, the options that change the outcome (method, trials, seed, limits), and the rule's
// meaning (compiler/rule_compiler.h: its canonical text with declared ops' bodies expanded,
// without annotations, so recording a verdict in the file does not invalidate it). Entries
// are small JSON files in $TWIN_CACHE_DIR, else $XDG_CACHE_HOME/twin/verify, else
// ~/.cache/twin/verify.
//
// Trust (the reliability issue's first point): every entry records its key and the rule's
// meaning, and is signed with this user's key (signing_key.h) over both and the verdict. An
// entry is believed only when its signature holds and it was written for this key and this
// rule: an entry edited by hand, copied onto another rule's file name, restored from another
// machine, or written by another user is a miss, and the rule is verified again (the cache
// says so once, through `warn`). A cache directory that others may write, or no usable key,
// disables the cache (with a warning): nothing is read or written. A missing, unreadable or
// corrupt entry is a miss; writing is best-effort.
#pragma once

#include "verify/rule_verifier.h"
#include "verify/signing_key.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace twin::verify {

class VerdictCache {
 public:
  struct Options {
    std::filesystem::path directory;  // empty: the default location described above
    bool writable = true;             // false: a read-only cache (the build's stdlib verdicts)
    std::filesystem::path key_file;   // empty: SigningKey::default_file()
    // Told (once per problem) why an entry or the whole cache is not believed.
    std::function<void(const std::string&)> warn;
  };

  explicit VerdictCache(Options options);
  static std::filesystem::path default_directory();

  static std::string key(const std::string& rule_text, const VerifyOptions& options);

  // The verdict stored for `key`, when it is signed by this user's key for this key and rule.
  std::optional<RuleReport> find(const std::string& key, const std::string& rule_text) const;
  void store(const std::string& key, const std::string& rule_text, const RuleReport& report) const;

  const std::filesystem::path& directory() const { return options_.directory; }
  bool usable() const { return signing_key_.has_value(); }

 private:
  void warn_once(const std::string& what, const std::string& message) const;
  Options options_;
  std::optional<SigningKey> signing_key_;
  std::shared_ptr<std::set<std::string>> warned_;
};

}  // namespace twin::verify
