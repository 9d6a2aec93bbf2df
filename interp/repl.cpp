// The REPL: session core, history file, and the libedit front end. See repl.h.
#include "interp/repl.h"

#include "interp/disassembly.h"

#include "interp/parser.h"
#include "interp/term.h"
#include "util/did_you_mean.h"

#include <histedit.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <pwd.h>
#include <set>
#include <sys/ioctl.h>
#include <unistd.h>

namespace twin {

namespace fs = std::filesystem;

namespace {

std::string trim(std::string_view text) {
  const char* space = " \t\r\n";
  auto begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return {};
  auto end = text.find_last_not_of(space);
  return std::string(text.substr(begin, end - begin + 1));
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

void append_line(std::string& out, const std::string& text) {
  if (text.empty()) return;
  out += text;
  if (out.back() != '\n') out += '\n';
}

std::vector<std::string> split_dotted(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto dot = name.find('.', start);
    parts.push_back(name.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ReplSession

ReplSession::ReplSession(Interpreter& interpreter) : interpreter_(interpreter) { add_builtin_commands(); }

void ReplSession::add_builtin_commands() {
  register_command("help", "list the commands", [](ReplSession& session, const std::string&, ReplResponse& r) {
    r.output += session.help_text();
  });
  register_command("load", "FILE  run a .twin script or load a .rules file",
                   [](ReplSession& session, const std::string& argument, ReplResponse& r) {
                     std::string path = argument;
                     if (path.size() >= 2 && path.front() == '"' && path.back() == '"') path = path.substr(1, path.size() - 2);
                     if (path.empty()) {
                       r.error += "usage: :load FILE\n";
                       return;
                     }
                     ReplResponse loaded = session.load_file(path);
                     r.output += loaded.output;
                     r.error += loaded.error;
                   });
  register_command("type", "EXPR  show the type of the expression's value",
                   [](ReplSession& session, const std::string& argument, ReplResponse& r) {
                     if (argument.empty()) {
                       r.error += "usage: :type EXPR\n";
                       return;
                     }
                     Value value = session.interpreter().eval_string(argument, kChunkName);
                     r.output += value.type_name() + "\n";
                   });
  register_command("rules", "[RULESET]  list the rulesets and their rules",
                   [](ReplSession& session, const std::string& argument, ReplResponse& r) {
                     Interpreter& twin = session.interpreter();
                     std::set<const RulesetValue*> listed;  // a ruleset bound to two names shows once
                     for (const std::string& name : twin.global_names()) {
                       auto ruleset = twin.get_global(name).as<RulesetValue>();
                       if (!ruleset || !listed.insert(ruleset.get()).second) continue;
                       if (!argument.empty() && argument != name && argument != ruleset->name()) continue;
                       std::size_t count = ruleset->rules().size();
                       r.output += "ruleset " + ruleset->name() + " (" + std::to_string(count) +
                                   (count == 1 ? " rule)\n" : " rules)\n");
                       for (const auto& rule : ruleset->rules()) r.output += "  " + rule->to_string() + "\n";
                     }
                     if (listed.empty()) r.output += "no rulesets are defined\n";
                     else if (r.output.empty()) r.error += "no ruleset named " + argument + "\n";
                   });
  register_command("disasm", "[RULE]  show the e-matching program of a rule (or of every rule)",
                   [](ReplSession& session, const std::string& argument, ReplResponse& r) {
                     std::optional<std::string> rule;
                     if (!argument.empty()) rule = argument;
                     r.output += disassemble_rules(session.interpreter(), rule);
                   });
  register_command("dot", "EGRAPH [FILE]  write a Graphviz file of an e-graph (default egraph.dot)",
                   [](ReplSession& session, const std::string& argument, ReplResponse& r) {
                     std::istringstream words(argument);
                     std::string expression, file;
                     words >> expression >> file;
                     if (expression.empty()) {
                       r.error += "usage: :dot EGRAPH [FILE]\n";
                       return;
                     }
                     if (file.empty()) file = "egraph.dot";
                     Value graph = session.interpreter().eval_string(expression, kChunkName);
                     if (graph.type_name() != "egraph") {
                       r.error += ":dot needs an e-graph, not a " + graph.type_name() + "\n";
                       return;
                     }
                     Value text = session.interpreter().eval_string("(" + expression + ").dot()", kChunkName);
                     std::ofstream out(file);
                     out << text.to_display();
                     if (!out) {
                       r.error += "cannot write " + file + "\n";
                       return;
                     }
                     r.output += "wrote " + file + " (render it with: dot -Tsvg " + file + " -o egraph.svg)\n";
                   });
  register_command("quit", "leave the REPL (Ctrl-D does too)",
                   [](ReplSession&, const std::string&, ReplResponse& r) { r.quit = true; });
}

void ReplSession::register_command(std::string name, std::string help, CommandHandler handler) {
  if (!name.empty() && name.front() == ':') name.erase(0, 1);
  for (Command& command : commands_) {
    if (command.name == name) {
      command.help = std::move(help);
      command.handler = std::move(handler);
      return;
    }
  }
  commands_.push_back({std::move(name), std::move(help), std::move(handler)});
}

std::string ReplSession::help_text() const {
  // "FILE  run ..." is synopsis and description; align the descriptions in one column.
  std::vector<std::pair<std::string, std::string>> rows;
  std::size_t width = 0;
  for (const Command& command : commands_) {
    std::string synopsis = ":" + command.name;
    std::string description = command.help;
    if (auto gap = command.help.find("  "); gap != std::string::npos) {
      synopsis += " " + command.help.substr(0, gap);
      description = trim(command.help.substr(gap));
    }
    width = std::max(width, synopsis.size());
    rows.emplace_back(std::move(synopsis), std::move(description));
  }
  std::string text =
      "Enter statements and expressions; the value of an expression is printed.\n"
      "Input continues on '...>' lines while a bracket or brace is open; Ctrl-C drops it.\n"
      "Tab completes names, dotted members, commands, and file names after :load.\n"
      "Commands:\n";
  for (const auto& [synopsis, description] : rows)
    text += "  " + synopsis + std::string(width - synopsis.size() + 2, ' ') + description + "\n";
  return text;
}

void ReplSession::guarded(ReplResponse& response, const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    append_line(response.error, error.format());
  } catch (const std::exception& error) {
    append_line(response.error, std::string("internal error: ") + error.what());
  } catch (...) {
    append_line(response.error, "internal error: unknown exception");
  }
}

ReplResponse ReplSession::feed_line(const std::string& line) {
  if (pending_.empty()) {
    std::string trimmed = trim(line);
    if (trimmed.empty()) return {};
    if (trimmed.front() == ':') return run_command(trimmed);
    pending_ = line;
  } else {
    pending_ += '\n';
    pending_ += line;
  }
  if (open_bracket_depth(pending_) > 0) {
    ReplResponse response;
    response.needs_more_input = true;
    return response;
  }
  std::string source = std::move(pending_);
  pending_.clear();
  return evaluate(source);
}

ReplResponse ReplSession::finish() {
  ReplResponse response;
  if (!pending_.empty()) {
    std::string source = std::move(pending_);
    pending_.clear();
    response = evaluate(source);
  }
  response.quit = true;
  return response;
}

namespace {
// Ctrl-C while a script runs stops the script (an "interrupted" error), not the REPL.
std::atomic<Interpreter*> evaluating{nullptr};

class EvaluationSignals {
 public:
  explicit EvaluationSignals(Interpreter& interpreter) {
    evaluating.store(&interpreter);
    struct sigaction action {};
    sigemptyset(&action.sa_mask);
    action.sa_handler = [](int) {
      if (Interpreter* in = evaluating.load()) in->request_interrupt();
    };
    sigaction(SIGINT, &action, &old_);
  }
  ~EvaluationSignals() {
    sigaction(SIGINT, &old_, nullptr);
    evaluating.store(nullptr);
  }
  EvaluationSignals(const EvaluationSignals&) = delete;
  EvaluationSignals& operator=(const EvaluationSignals&) = delete;

 private:
  struct sigaction old_ {};
};
}  // namespace

ReplResponse ReplSession::evaluate(const std::string& source) {
  ReplResponse response;
  EvaluationSignals signals(interpreter_);
  guarded(response, [&] {
    Value value = interpreter_.eval_string(source, kChunkName);
    if (!value.is_nil()) response.output = value.to_repr() + "\n";
  });
  return response;
}

ReplResponse ReplSession::run_command(const std::string& line) {
  ReplResponse response;
  std::size_t end = line.find_first_of(" \t");
  std::string name = line.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  std::string argument = end == std::string::npos ? "" : trim(line.substr(end));
  auto command = std::find_if(commands_.begin(), commands_.end(), [&](const Command& c) { return c.name == name; });
  if (command == commands_.end()) {
    std::vector<std::string> names;
    for (const Command& c : commands_) names.push_back(c.name);
    std::string suggestion = did_you_mean(name, names, ":");
    response.error = "unknown command :" + name + (suggestion.empty() ? " (:help lists the commands)" : suggestion) + "\n";
    return response;
  }
  // Copy the handler: a command may register commands, which can move the table.
  CommandHandler handler = command->handler;
  guarded(response, [&] { handler(*this, argument, response); });
  return response;
}

ReplResponse ReplSession::load_file(const fs::path& path) {
  ReplResponse response;
  guarded(response, [&] {
    std::error_code ignored;
    fs::path directory = fs::absolute(path, ignored).parent_path();
    if (!directory.empty()) interpreter_.allow_read(directory);
    interpreter_.eval_file(path);
  });
  return response;
}

std::vector<std::string> ReplSession::member_candidates(const std::string& dotted_prefix) const {
  // `a.b.c` where some leading part `a` or `a.b` is a global (identifiers may contain dots)
  // and the rest are members of objects.
  auto dot = dotted_prefix.rfind('.');
  std::string base = dotted_prefix.substr(0, dot);
  std::string partial = dotted_prefix.substr(dot + 1);
  std::vector<std::string> parts = split_dotted(base);
  for (std::size_t global_parts = parts.size(); global_parts >= 1; --global_parts) {
    std::string global;
    for (std::size_t i = 0; i < global_parts; ++i) global += (i ? "." : "") + parts[i];
    if (!interpreter_.has_global(global)) continue;
    Value value = interpreter_.get_global(global);
    for (std::size_t i = global_parts; i < parts.size() && value.is_object(); ++i) {
      auto member = value.as_object()->member(parts[i]);
      value = member ? *member : Value();
    }
    if (!value.is_object()) return {};
    std::vector<std::string> names;
    for (const std::string& member : value.as_object()->member_names())
      if (member.starts_with(partial)) names.push_back(base + "." + member);
    return names;
  }
  return {};
}

ReplSession::Completion ReplSession::complete(std::string_view line) const {
  Completion completion;
  std::set<std::string> found;
  std::string_view trimmed = line.substr(std::min(line.size(), line.find_first_not_of(" \t")));

  if (pending_.empty() && trimmed.starts_with(':')) {
    std::size_t offset = line.size() - trimmed.size();
    auto space = trimmed.find_first_of(" \t");
    if (space == std::string_view::npos) {  // the command name itself
      completion.word_start = offset;
      for (const Command& command : commands_)
        if ((":" + command.name).starts_with(trimmed)) found.insert(":" + command.name);
    } else if (trimmed.substr(0, space) == ":load") {
      std::size_t start = offset + space;
      while (start < line.size() && (line[start] == ' ' || line[start] == '\t' || line[start] == '"')) ++start;
      std::string typed(line.substr(start));
      completion.word_start = start;
      auto slash = typed.rfind('/');
      std::string directory_part = slash == std::string::npos ? "" : typed.substr(0, slash + 1);
      std::string name_part = slash == std::string::npos ? typed : typed.substr(slash + 1);
      fs::path directory = directory_part.empty() ? fs::path(".") : fs::path(directory_part);
      std::error_code error;
      for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
        std::string name = it->path().filename().string();
        if (!name.starts_with(name_part) || (name.starts_with('.') && !name_part.starts_with('.'))) continue;
        std::error_code ignored;
        found.insert(directory_part + name + (it->is_directory(ignored) ? "/" : ""));
      }
    }
    completion.candidates.assign(found.begin(), found.end());
    return completion;
  }

  std::size_t start = line.size();
  while (start > 0 && is_name_char(line[start - 1])) --start;
  std::string word(line.substr(start));
  completion.word_start = start;
  if (word.empty() || std::isdigit(static_cast<unsigned char>(word.front()))) return completion;
  for (const std::string& candidate : interpreter_.completion_candidates())
    if (candidate.starts_with(word)) found.insert(candidate);
  if (word.find('.') != std::string::npos)
    for (std::string& candidate : member_candidates(word)) found.insert(std::move(candidate));
  completion.candidates.assign(found.begin(), found.end());
  return completion;
}

// ---------------------------------------------------------------------------------------------
// History

fs::path default_history_path() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state && fs::path(state).is_absolute())
    return fs::path(state) / "twin" / "history";
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    const passwd* entry = getpwuid(getuid());
    home = entry ? entry->pw_dir : nullptr;
  }
  if (!home || !*home) return {};
  return fs::path(home) / ".local" / "state" / "twin" / "history";
}

ReplHistory::ReplHistory(fs::path file, std::size_t max_entries)
    : file_(std::move(file)), max_entries_(std::max<std::size_t>(max_entries, 1)) {}

namespace {

std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

std::vector<std::string> ReplHistory::load() {
  if (file_.empty()) return {};
  std::error_code ignored;
  fs::create_directories(file_.parent_path(), ignored);
  std::vector<std::string> lines = read_lines(file_);
  lines_in_file_ = lines.size();
  if (lines_in_file_ > 2 * max_entries_) shrink_file();
  if (lines.size() > max_entries_) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(max_entries_));
  last_line_ = lines.empty() ? "" : lines.back();
  return lines;
}

bool ReplHistory::add(const std::string& entered) {
  if (file_.empty()) return true;
  std::string line = entered;
  std::replace(line.begin(), line.end(), '\n', ' ');
  if (trim(line).empty() || line == last_line_) return true;
  last_line_ = line;
  line += '\n';
  std::error_code ignored;
  fs::create_directories(file_.parent_path(), ignored);
  int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  // One write of a short line with O_APPEND: concurrent sessions do not tear each other's lines.
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (written && ++lines_in_file_ > 2 * max_entries_) shrink_file();
  return written;
}

void ReplHistory::shrink_file() {
  std::vector<std::string> lines = read_lines(file_);
  if (lines.size() > max_entries_) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(max_entries_));
  std::string temp = (file_.parent_path() / ".history.XXXXXX").string();
  int fd = ::mkstemp(temp.data());
  if (fd < 0) return;
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (ok && ::rename(temp.c_str(), file_.c_str()) == 0) {
    lines_in_file_ = lines.size();
  } else {
    ::unlink(temp.c_str());
  }
}

// ---------------------------------------------------------------------------------------------
// Front ends

namespace {

void print_response(const ReplResponse& response) {
  if (!response.output.empty()) std::cout << response.output << std::flush;
  if (!response.error.empty()) std::cerr << response.error << std::flush;
}

int run_plain(ReplSession& session) {
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    ReplResponse response = session.feed_line(line);
    print_response(response);
    if (response.quit) return 0;
  }
  print_response(session.finish());
  return 0;
}

// Signals while libedit waits for a key. SIGINT (Ctrl-C) must make the read fail so the
// line can be dropped; libedit's own reader retries an interrupted read, so Terminal
// installs its own (read_key). Between prompts the previous handlers are back: Ctrl-C
// during a long evaluation ends the process as usual.
volatile std::sig_atomic_t interrupted = 0;
volatile std::sig_atomic_t resized = 0;

class PromptSignals {
 public:
  PromptSignals() {
    struct sigaction action {};
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: read() returns EINTR
    action.sa_handler = [](int) { interrupted = 1; };
    sigaction(SIGINT, &action, &old_interrupt_);
    action.sa_handler = [](int) { resized = 1; };
    sigaction(SIGWINCH, &action, &old_resize_);
  }
  ~PromptSignals() {
    sigaction(SIGINT, &old_interrupt_, nullptr);
    sigaction(SIGWINCH, &old_resize_, nullptr);
  }
  PromptSignals(const PromptSignals&) = delete;
  PromptSignals& operator=(const PromptSignals&) = delete;

 private:
  struct sigaction old_interrupt_ {};
  struct sigaction old_resize_ {};
};

class Terminal {
 public:
  Terminal(ReplSession& session, std::size_t history_size) : session_(session) {
    std::setlocale(LC_CTYPE, "");  // libedit decodes UTF-8 keys only under a UTF-8 locale
    history_ = history_init();
    HistEvent event;
    history(history_, &event, H_SETSIZE, static_cast<int>(history_size));
    editor_ = el_init("twin", stdin, stdout, stderr);
    el_set(editor_, EL_EDITOR, "emacs");
    el_set(editor_, EL_CLIENTDATA, this);
    el_set(editor_, EL_PROMPT, &Terminal::prompt);
    el_set(editor_, EL_HIST, history, history_);
    el_set(editor_, EL_GETCFN, &Terminal::read_key);
    el_set(editor_, EL_ADDFN, "twin-complete", "Complete the name before the cursor", &Terminal::complete);
    el_set(editor_, EL_BIND, "^I", "twin-complete", nullptr);
    el_source(editor_, nullptr);  // ~/.editrc may rebind keys
  }
  ~Terminal() {
    el_end(editor_);
    history_end(history_);
  }
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  void add_history(const std::string& line) {
    HistEvent event;
    history(history_, &event, H_ENTER, line.c_str());
  }

  enum class Read { Line, Interrupted, EndOfInput };
  Read read_line(std::string& line) {
    int count = 0;
    const char* text;
    {
      PromptSignals signals;
      interrupted = 0;
      text = el_gets(editor_, &count);
    }
    if (text == nullptr) {
      bool was_interrupted = interrupted;
      interrupted = 0;
      if (!was_interrupted) return Read::EndOfInput;
      el_reset(editor_);  // forget the half-typed line
      return Read::Interrupted;
    }
    line.assign(text, static_cast<std::size_t>(count));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return Read::Line;
  }

 private:
  static Terminal& of(EditLine* editor) {
    void* data = nullptr;
    el_get(editor, EL_CLIENTDATA, &data);
    return *static_cast<Terminal*>(data);
  }

  static char* prompt(EditLine* editor) { return const_cast<char*>(of(editor).session_.prompt()); }

  // One key as a wide character, decoding the locale's multibyte encoding byte by byte.
  static int read_key(EditLine* editor, wchar_t* key) {
    std::mbstate_t state{};
    for (;;) {
      char byte;
      ssize_t n = ::read(STDIN_FILENO, &byte, 1);
      if (n == 0) return 0;
      if (n < 0) {
        if (errno != EINTR) return -1;
        if (interrupted) return -1;
        if (resized) {
          resized = 0;
          el_resize(editor);
        }
        continue;
      }
      std::size_t used = std::mbrtowc(key, &byte, 1, &state);
      if (used == static_cast<std::size_t>(-2)) continue;  // more bytes of this character follow
      if (used == static_cast<std::size_t>(-1)) *key = static_cast<unsigned char>(byte);
      return 1;
    }
  }

  static unsigned char complete(EditLine* editor, int) {
    Terminal& terminal = of(editor);
    const LineInfo* info = el_line(editor);
    std::string before(info->buffer, info->cursor);
    ReplSession::Completion completion;
    try {  // an exception must not unwind through libedit's C frames
      completion = terminal.session_.complete(before);
    } catch (...) {
      return CC_REFRESH_BEEP;
    }
    if (completion.candidates.empty()) return CC_REFRESH_BEEP;
    std::string typed = before.substr(completion.word_start);
    std::string common = completion.candidates.front();
    for (const std::string& candidate : completion.candidates) {
      std::size_t i = 0;
      while (i < common.size() && i < candidate.size() && common[i] == candidate[i]) ++i;
      common.resize(i);
    }
    if (common.size() > typed.size() && common.starts_with(typed)) {
      el_insertstr(editor, common.substr(typed.size()).c_str());
      return CC_REFRESH;
    }
    if (completion.candidates.size() == 1) return CC_REFRESH;
    terminal.list(completion.candidates);
    return CC_REDISPLAY;
  }

  void list(const std::vector<std::string>& candidates) {
    winsize size{};
    std::size_t columns = ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
    std::size_t width = 0;
    for (const std::string& candidate : candidates) width = std::max(width, candidate.size() + 2);
    std::size_t per_row = std::max<std::size_t>(1, columns / width);
    std::string text = "\n";
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      bool last_in_row = (i + 1) % per_row == 0 || i + 1 == candidates.size();
      text += candidates[i];
      text += last_in_row ? std::string("\n") : std::string(width - candidates[i].size(), ' ');
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }

  ReplSession& session_;
  EditLine* editor_ = nullptr;
  History* history_ = nullptr;
};

int run_terminal(ReplSession& session, const ReplOptions& options) {
  Terminal terminal(session, options.history_size);
  ReplHistory history(options.history_file, options.history_size);
  for (const std::string& line : history.load()) terminal.add_history(line);
  bool history_warned = false;

  std::cout << "Twin REPL. :help lists the commands; :quit or Ctrl-D leaves.\n" << std::flush;
  for (;;) {
    std::string line;
    switch (terminal.read_line(line)) {
      case Terminal::Read::EndOfInput: {
        std::cout << "\n";
        print_response(session.finish());
        return 0;
      }
      case Terminal::Read::Interrupted:
        std::cout << "\n" << std::flush;
        session.cancel_input();
        continue;
      case Terminal::Read::Line:
        break;
    }
    if (!trim(line).empty()) {
      terminal.add_history(line);
      if (!history.add(line) && !history_warned) {
        std::cerr << "twin: cannot write the history file " << history.file().string() << ": "
                  << std::strerror(errno) << "; history is not saved\n";
        history_warned = true;
      }
    }
    ReplResponse response = session.feed_line(line);
    print_response(response);
    if (response.quit) return 0;
  }
}

}  // namespace

int run_repl(ReplSession& session, const ReplOptions& options) {
  for (const fs::path& file : options.files) print_response(session.load_file(file));
  if (::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO)) return run_terminal(session, options);
  return run_plain(session);
}

int run_repl(Interpreter& interpreter, const ReplOptions& options) {
  ReplSession session(interpreter);
  return run_repl(session, options);
}

}  // namespace twin
