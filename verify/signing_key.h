// The per-user key that signs cached verdicts (verdict_cache.h), so that a verdict cache is
// only believed when this user's Twin wrote it: a cache restored from another machine, a
// shared directory, or an entry edited by hand is worth nothing.
//
// The key is 32 random bytes in a file only its owner may read or write:
// $TWIN_KEY_FILE, else $XDG_CONFIG_HOME/twin/verdict-key, else ~/.config/twin/verdict-key.
// It is created on first use (mode 0600, in a directory made 0700), never overwritten. A key
// file that is not a regular file owned by this user with no group or other permissions, or
// whose directory others may write, is refused: then there is no key, and no cache is used.
//
// Signatures are HMAC-SHA256 (OpenSSL's libcrypto), compared in constant time.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace twin::verify {

class SigningKey {
 public:
  // The key at the default location (or `file`), created when `create` and it does not exist.
  // nullopt when there is none or it is refused; `why` says which.
  static std::optional<SigningKey> load(bool create, std::string* why, std::filesystem::path file = {});
  static std::filesystem::path default_file();

  // Hex HMAC-SHA256 of `message` under this key.
  std::string sign(const std::string& message) const;
  bool verify(const std::string& message, const std::string& signature) const;

 private:
  explicit SigningKey(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string bytes_;
};

// Whether a directory may hold verdicts this user trusts: owned by this user (or root) and not
// writable by group or others. `why` says what is wrong.
bool trusted_directory(const std::filesystem::path& directory, std::string* why);

}  // namespace twin::verify
