#include "verify/verdict_cache.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace twin::verify {

namespace fs = std::filesystem;

namespace {

// Two FNV-1a passes with different offsets: a 128-bit key, no per-process seed. (The key only
// names the file; the signature, not the key, is what makes an entry trustworthy.)
std::string hash128(const std::string& text) {
  std::uint64_t a = 1469598103934665603ull, b = 0x84222325cbf29ce4ull;
  for (unsigned char c : text) {
    a = (a ^ c) * 1099511628211ull;
    b = (b ^ c) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
  }
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buffer;
}

nlohmann::json report_json(const RuleReport& r) {
  return {{"verdict", verdict_name(r.verdict)}, {"method", r.method}, {"trials", r.trials}, {"seed", r.seed},
          {"numerics", r.numerics}, {"r_ratio", r.r_ratio}, {"counterexample", r.counterexample}, {"detail", r.detail},
          {"seconds", r.seconds}};
}

RuleReport report_of(const nlohmann::json& j) {
  RuleReport r;
  std::string verdict = j.at("verdict");
  if (verdict == "proved") r.verdict = Verdict::Proved;
  else if (verdict == "tested") r.verdict = Verdict::Tested;
  else if (verdict == "refuted") r.verdict = Verdict::Refuted;
  else r.verdict = Verdict::Unknown;
  r.method = j.at("method");
  r.trials = j.at("trials");
  r.seed = j.at("seed");
  r.numerics = j.at("numerics");
  r.r_ratio = j.at("r_ratio");
  r.counterexample = j.at("counterexample");
  r.detail = j.at("detail");
  r.seconds = j.at("seconds");
  return r;
}

// What the signature covers: the verifier's version, the entry's key, the rule, the verdict.
std::string signed_text(const std::string& key, const std::string& rule_text, const nlohmann::json& report) {
  return std::string("twin verdict\n") + kVerifierVersion + "\n" + key + "\n" + rule_text + "\n" + report.dump();
}

}  // namespace

fs::path VerdictCache::default_directory() {
  if (const char* dir = std::getenv("TWIN_CACHE_DIR"); dir && *dir) return fs::path(dir);
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "twin" / "verify";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "twin" / "verify";
  return fs::temp_directory_path() / ("twin-verify-cache-" + std::to_string(geteuid()));
}

VerdictCache::VerdictCache(Options options) : options_(std::move(options)), warned_(std::make_shared<std::set<std::string>>()) {
  if (options_.directory.empty()) options_.directory = default_directory();
  std::string why;
  std::error_code ec;
  if (fs::exists(options_.directory, ec) && !trusted_directory(options_.directory, &why)) {
    warn_once("directory", "the verdict cache " + options_.directory.string() + " is not used: " + why);
    return;
  }
  if (!options_.writable && !fs::exists(options_.directory, ec)) return;  // nothing to read
  signing_key_ = SigningKey::load(options_.writable, &why, options_.key_file);
  if (!signing_key_ && options_.writable) warn_once("key", "the verdict cache is not used: no signing key (" + why + ")");
}

void VerdictCache::warn_once(const std::string& what, const std::string& message) const {
  if (!options_.warn || !warned_->insert(what).second) return;
  options_.warn(message);
}

std::string VerdictCache::key(const std::string& rule_text, const VerifyOptions& options) {
  std::string method = options.method == Method::Z3 ? "z3" : options.method == Method::Random ? "random" : "auto";
  return hash128(std::string(kVerifierVersion) + "\n" + method + "\n" + std::to_string(options.trials) + "\n" +
                 std::to_string(options.seed) + "\n" + std::to_string(options.z3_timeout_ms) + "\n" +
                 std::to_string(options.rule_seconds) + "\n" + std::to_string(options.z3_max_elements) + "\n" +
                 rule_text);
}

std::optional<RuleReport> VerdictCache::find(const std::string& key, const std::string& rule_text) const {
  if (!signing_key_) return std::nullopt;
  std::ifstream in(options_.directory / (key + ".json"));
  if (!in) return std::nullopt;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (j.value("version", "") != kVerifierVersion) return std::nullopt;  // stale, not forged
    const nlohmann::json& report = j.at("report");
    bool genuine = j.at("key") == key && j.at("rule") == rule_text &&
                   signing_key_->verify(signed_text(key, rule_text, report), j.at("signature").get<std::string>());
    if (!genuine) {
      warn_once("entry", "a verdict cache entry in " + options_.directory.string() +
                             " was not written by this user's Twin for this rule (edited, moved or copied); such "
                             "entries are ignored and their rules verified again");
      return std::nullopt;
    }
    return report_of(report);
  } catch (const std::exception&) {
    return std::nullopt;  // a corrupt entry is a miss
  }
}

void VerdictCache::store(const std::string& key, const std::string& rule_text, const RuleReport& r) const {
  if (!signing_key_ || !options_.writable) return;
  nlohmann::json report = report_json(r);
  nlohmann::json j = {{"version", kVerifierVersion}, {"key", key}, {"rule", rule_text}, {"report", report},
                      {"signature", signing_key_->sign(signed_text(key, rule_text, report))}};
  std::error_code ec;
  fs::create_directories(options_.directory, ec);
  fs::path file = options_.directory / (key + ".json");
  // Write a fresh file, then replace atomically: a concurrent reader never sees half an entry.
  fs::path temp = options_.directory / (key + ".json.new");
  {
    std::ofstream out(temp);
    if (!out) return;
    out << j.dump();
  }
  fs::rename(temp, file, ec);
}

}  // namespace twin::verify
