#include "verify/verdict_cache.h"


#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace twin::verify {

namespace fs = std::filesystem;

namespace {

fs::path default_directory() {
  if (const char* dir = std::getenv("TWIN_CACHE_DIR"); dir && *dir) return fs::path(dir);
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "twin" / "verify";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "twin" / "verify";
  return fs::temp_directory_path() / "twin-verify-cache";
}

// Two FNV-1a passes with different offsets: a 128-bit key, no per-process seed.
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

}  // namespace

VerdictCache::VerdictCache(fs::path directory) : directory_(directory.empty() ? default_directory() : std::move(directory)) {}

std::string VerdictCache::key(const std::string& rule_text, const VerifyOptions& options) {
  std::string method = options.method == Method::Z3 ? "z3" : options.method == Method::Random ? "random" : "auto";
  return hash128(std::string(kVerifierVersion) + "\n" + method + "\n" + std::to_string(options.trials) + "\n" +
                 std::to_string(options.seed) + "\n" + std::to_string(options.z3_timeout_ms) + "\n" +
                 std::to_string(options.rule_seconds) + "\n" + rule_text);
}

std::optional<RuleReport> VerdictCache::find(const std::string& key) const {
  std::ifstream in(directory_ / (key + ".json"));
  if (!in) return std::nullopt;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    if (j.value("version", "") != kVerifierVersion) return std::nullopt;
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
  } catch (const std::exception&) {
    return std::nullopt;  // a corrupt entry is a miss
  }
}

void VerdictCache::store(const std::string& key, const RuleReport& r) const {
  nlohmann::json j = {{"version", kVerifierVersion}, {"verdict", verdict_name(r.verdict)}, {"method", r.method},
                      {"trials", r.trials}, {"seed", r.seed}, {"numerics", r.numerics}, {"r_ratio", r.r_ratio},
                      {"counterexample", r.counterexample}, {"detail", r.detail}, {"seconds", r.seconds}};
  std::error_code ec;
  fs::create_directories(directory_, ec);
  fs::path file = directory_ / (key + ".json");
  // Write a fresh file, then replace atomically: a concurrent reader never sees half an entry.
  fs::path temp = directory_ / (key + ".json.new");
  {
    std::ofstream out(temp);
    if (!out) return;
    out << j.dump();
  }
  fs::rename(temp, file, ec);
}

}  // namespace twin::verify
