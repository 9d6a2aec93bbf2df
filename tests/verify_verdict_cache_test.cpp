// The verdict cache (verify/verdict_cache.h) is believed only for what this user's Twin wrote
// for this rule: a verdict edited by hand, an entry copied onto another rule's file, another
// key's entries and a directory others may write are never trusted.
#include "verify/verdict_cache.h"

#include "support.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

using namespace twin;
using twin::testing::TempDir;

namespace {

verify::RuleReport proved() {
  verify::RuleReport r;
  r.verdict = verify::Verdict::Proved;
  r.method = "z3";
  return r;
}

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("a stored verdict is found for its rule, and a key file is created private") {
  TempDir dir;
  verify::VerdictCache cache({dir.path / "cache", true, dir.path / "conf" / "key", {}});
  REQUIRE(cache.usable());
  struct stat st;
  REQUIRE(stat((dir.path / "conf" / "key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  cache.store("k1", "add(?a, 0) => ?a", proved());
  auto hit = cache.find("k1", "add(?a, 0) => ?a");
  REQUIRE(hit);
  CHECK(hit->verdict == verify::Verdict::Proved);
  CHECK_FALSE(cache.find("k1", "sub(?a, ?b) => sub(?b, ?a)"));  // the entry names its rule
}

TEST_CASE("an edited, a moved and a foreign entry are misses, and the cache says so once") {
  TempDir dir;
  std::vector<std::string> warnings;
  verify::VerdictCache cache({dir.path / "cache", true, dir.path / "key", [&](const std::string& w) { warnings.push_back(w); }});
  verify::RuleReport refuted;
  refuted.verdict = verify::Verdict::Refuted;
  cache.store("wrong", "sub(?a, ?b) => sub(?b, ?a)", refuted);
  cache.store("right", "add(?a, ?b) => add(?b, ?a)", proved());
  // Edited: refuted -> proved.
  std::string text = read(dir.path / "cache" / "wrong.json");
  auto at = text.find("refuted");
  REQUIRE(at != std::string::npos);
  std::ofstream(dir.path / "cache" / "wrong.json") << text.replace(at, 7, "proved");
  CHECK_FALSE(cache.find("wrong", "sub(?a, ?b) => sub(?b, ?a)"));
  // Moved: the right rule's entry under the wrong rule's name.
  std::filesystem::copy_file(dir.path / "cache" / "right.json", dir.path / "cache" / "wrong.json",
                             std::filesystem::copy_options::overwrite_existing);
  CHECK_FALSE(cache.find("wrong", "sub(?a, ?b) => sub(?b, ?a)"));
  CHECK(warnings.size() == 1);
  // Another key (another user, another machine) signed it: not believed.
  verify::VerdictCache other({dir.path / "cache", true, dir.path / "other-key", {}});
  CHECK_FALSE(other.find("right", "add(?a, ?b) => add(?b, ?a)"));
  CHECK(cache.find("right", "add(?a, ?b) => add(?b, ?a)"));
}

TEST_CASE("a cache directory others may write is not used, and a key others may read is refused") {
  TempDir dir;
  std::filesystem::create_directories(dir.path / "shared");
  chmod((dir.path / "shared").c_str(), 0777);
  std::vector<std::string> warnings;
  verify::VerdictCache shared({dir.path / "shared", true, dir.path / "key", [&](const std::string& w) { warnings.push_back(w); }});
  CHECK_FALSE(shared.usable());
  shared.store("k", "rule", proved());
  CHECK_FALSE(std::filesystem::exists(dir.path / "shared" / "k.json"));
  CHECK(warnings.size() == 1);

  std::ofstream(dir.path / "open-key") << std::string(32, 'x');
  chmod((dir.path / "open-key").c_str(), 0644);
  std::string why;
  CHECK_FALSE(verify::SigningKey::load(false, &why, dir.path / "open-key"));
  CHECK(why.find("0600") != std::string::npos);
}
