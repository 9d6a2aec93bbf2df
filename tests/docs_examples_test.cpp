// The examples in docs/ are executed: each fenced `twin` block that the text follows with
// "Output:" and a fenced block is run with `twin run`, and what it prints must be that block;
// with "Error:", the block shows the exit status first (`exit 2`), then what was printed.
// A fenced block whose first line is `# file: NAME` is written to NAME first (in a scratch
// directory shared by one document's examples, in order), so a later example can `use` it;
// such a `.rules` block must also be `twin fmt --check` clean (unless the document shows
// `twin fmt` reformatting it). A doc that drifts from Twin's
// behaviour fails here, naming the document and the line of the example.
#include "tests/support.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kTwin = TWIN_BINARY_DIR "/twin";

struct Block {
  std::string language;  // after the opening fence: "twin", "rules", "text", ""
  std::string text;
  int line = 0;          // of the opening fence, 1-based
  bool followed_by_output = false;  // the next paragraph says "Output:" and the next block shows it
  bool followed_by_error = false;   // ... says "Error:": the next block starts with "exit N"
};

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string document_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trimmed(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \n");
  std::size_t end = text.find_last_not_of(" \n");
  return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

std::vector<Block> fenced_blocks(const fs::path& doc) {
  std::vector<std::string> lines = lines_of(doc);
  std::vector<Block> blocks;
  std::size_t last_close = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with("```")) continue;
    Block block{lines[i].substr(3), "", static_cast<int>(i) + 1, false};
    // "Output:" alone between the previous block and this one marks this one as the previous
    // block's output.
    if (!blocks.empty()) {
      std::string between;
      for (std::size_t k = last_close + 1; k < i; ++k) between += lines[k] + "\n";
      between = trimmed(between);
      if (between == "Output:" || between == "Prints:" || between == "It prints:") blocks.back().followed_by_output = true;
      if (between == "Error:") blocks.back().followed_by_output = blocks.back().followed_by_error = true;
    }
    std::size_t j = i + 1;
    for (; j < lines.size() && !lines[j].starts_with("```"); ++j) block.text += lines[j] + "\n";
    blocks.push_back(block);
    last_close = i = j;
  }
  return blocks;
}

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs one document's examples; returns how many were compared.
int run_examples(const std::string& name) {
  const fs::path doc = fs::path(TWIN_SOURCE_DIR) / "docs" / name;
  std::vector<Block> blocks = fenced_blocks(doc);
  twin::testing::TempDir scratch;
  int compared = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const Block& block = blocks[b];
    if (block.language != "twin" && block.language != "rules") continue;
    if (block.text.starts_with("# file: ")) {
      std::string file = trimmed(block.text.substr(8, block.text.find('\n') - 8));
      fs::create_directories((scratch.path / file).parent_path());
      scratch.write(file, block.text);
      // A .rules file is fmt-clean, unless the document shows `twin fmt` reformatting it.
      if (file.ends_with(".rules") && document_text(doc).find("twin fmt --check " + file) == std::string::npos) {
        auto fmt = twin::testing::shell("cd " + shell_quoted(scratch.path.string()) + " && " + shell_quoted(kTwin) +
                                        " fmt --check " + shell_quoted(file) + " 2>&1");
        CHECK_MESSAGE(fmt.status == 0, name << ":" << block.line << ": " << file << " is not fmt-clean: " << fmt.output);
      }
      if (!block.followed_by_output) continue;
    }
    if (!block.followed_by_output || b + 1 >= blocks.size()) continue;
    const std::string script = block.text.starts_with("# file: ")
                                   ? trimmed(block.text.substr(8, block.text.find('\n') - 8))
                                   : "example.twin";
    if (!block.text.starts_with("# file: ")) scratch.write(script, block.text);
    auto run = twin::testing::shell("cd " + shell_quoted(scratch.path.string()) + " && TWIN_PATH=" +
                                    shell_quoted(TWIN_SOURCE_DIR "/stdlib") + " " + shell_quoted(kTwin) + " run " + shell_quoted(script) +
                                    " 2>&1");
    std::string got = run.output;
    // An error example shows the exit status first ("exit 2"), then what was printed.
    if (block.followed_by_error) got = "exit " + std::to_string(run.status) + "\n" + got;
    // Errors name the script by the path given to `twin run`; the docs show it the same way.
    CHECK_MESSAGE(trimmed(got) == trimmed(blocks[b + 1].text),
                  name << ":" << block.line << ": the example prints\n" << got << "\nwhere the document shows\n"
                       << blocks[b + 1].text);
    ++compared;
  }
  return compared;
}

}  // namespace

TEST_CASE("docs/tutorial.md: every example prints what the tutorial shows") { CHECK(run_examples("tutorial.md") >= 8); }

TEST_CASE("docs/language.md: every example prints what the reference shows") { CHECK(run_examples("language.md") >= 25); }
