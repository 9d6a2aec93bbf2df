#include "verify/signing_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace twin::verify {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kKeyBytes = 32;

std::string hex(const unsigned char* data, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

bool private_file(const struct stat& st, std::string* why) {
  if (!S_ISREG(st.st_mode)) return *why = "it is not a regular file", false;
  if (st.st_uid != geteuid()) return *why = "another user owns it", false;
  if (st.st_mode & 077) return *why = "group or others may read or write it (expected mode 0600)", false;
  return true;
}

// Reads the key from an open descriptor after checking what was opened (not the path).
std::optional<std::string> read_key(int fd, std::string* why) {
  struct stat st;
  if (fstat(fd, &st) != 0) return *why = std::strerror(errno), std::nullopt;
  if (!private_file(st, why)) return std::nullopt;
  std::string bytes(kKeyBytes, '\0');
  std::size_t got = 0;
  while (got < kKeyBytes) {
    ssize_t n = read(fd, bytes.data() + got, kKeyBytes - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got != kKeyBytes) return *why = "it is shorter than a key", std::nullopt;
  return bytes;
}

}  // namespace

fs::path SigningKey::default_file() {
  if (const char* file = std::getenv("TWIN_KEY_FILE"); file && *file) return fs::path(file);
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return fs::path(xdg) / "twin" / "verdict-key";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".config" / "twin" / "verdict-key";
  return {};
}

std::optional<SigningKey> SigningKey::load(bool create, std::string* why, fs::path file) {
  std::string ignored;
  if (!why) why = &ignored;
  if (file.empty()) file = default_file();
  if (file.empty()) return *why = "no home directory for the verdict key", std::nullopt;
  std::string problem;
  if (!trusted_directory(file.parent_path(), &problem) && fs::exists(file.parent_path())) {
    *why = file.parent_path().string() + ": " + problem;
    return std::nullopt;
  }
  int fd = open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    chmod(file.parent_path().c_str(), 0700);
    unsigned char fresh[kKeyBytes];
    if (RAND_bytes(fresh, kKeyBytes) != 1) return *why = "no randomness for a new key", std::nullopt;
    // O_EXCL: two processes creating the key at once cannot both write it; the loser reads
    // the winner's.
    int out = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out >= 0) {
      bool ok = write(out, fresh, kKeyBytes) == static_cast<ssize_t>(kKeyBytes) && fsync(out) == 0;
      close(out);
      if (!ok) {
        unlink(file.c_str());
        return *why = "cannot write " + file.string(), std::nullopt;
      }
    }
    fd = open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) return *why = file.string() + ": " + std::strerror(errno), std::nullopt;
  auto bytes = read_key(fd, &problem);
  close(fd);
  if (!bytes) return *why = file.string() + ": " + problem, std::nullopt;
  return SigningKey(std::move(*bytes));
}

std::string SigningKey::sign(const std::string& message) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), bytes_.data(), static_cast<int>(bytes_.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac, &length);
  return hex(mac, length);
}

bool SigningKey::verify(const std::string& message, const std::string& signature) const {
  std::string expected = sign(message);
  return signature.size() == expected.size() && CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) == 0;
}

bool trusted_directory(const fs::path& directory, std::string* why) {
  std::string ignored;
  if (!why) why = &ignored;
  struct stat st;
  if (stat(directory.c_str(), &st) != 0) return *why = std::strerror(errno), false;
  if (!S_ISDIR(st.st_mode)) return *why = "not a directory", false;
  if (st.st_uid != geteuid() && st.st_uid != 0) return *why = "another user owns it", false;
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return *why = "group or others may write it", false;
  return true;
}

}  // namespace twin::verify
