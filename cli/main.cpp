// twin: the command-line tool. Dispatches on the first argument through kCommands.
#include "cli/command.h"

#include "util/did_you_mean.h"

#include <array>
#include <cctype>
#include <iostream>

namespace twin::cli {
namespace {

// Adding a command: define its CommandSpec in <name>_command.cpp, declare it in command.h,
// and add one line here. `twin --help` lists them in this order.
constexpr std::array<const CommandSpec*, 9> kCommands = {
    &kRunCommand,
    &kReplCommand,
    &kFmtCommand,
    &kVerifyCommand,
    &kCaptureCommand,
    &kCheckCommand,
    &kStagesCommand,
    &kDisasmCommand,
    &kOpsCommand,
};

// " (did you mean 'check'?)" for a mistyped command name.
std::string suggest_command(const std::string& typo) {
  std::vector<std::string> names;
  for (const CommandSpec* command : kCommands) names.emplace_back(command->name);
  names.emplace_back("help");
  return did_you_mean(typo, names);
}

const CommandSpec* find_command(std::string_view name) {
  for (const CommandSpec* command : kCommands)
    if (command->name == name) return command;
  return nullptr;
}

void print_usage(std::ostream& out) {
  out << "usage: twin COMMAND [ARGS...]\n"
         "       twin help COMMAND | --help | --version\n\n"
         "Twin runs rewrite rules and validation scripts.\n\n"
         "Commands:\n";
  std::size_t width = 0;
  for (const CommandSpec* command : kCommands) width = std::max(width, command->name.size());
  for (const CommandSpec* command : kCommands)
    out << "  " << command->name << std::string(width - command->name.size() + 3, ' ') << command->summary << "\n";
  out << "\nExit status: 0 success; 1 the checked property does not hold; 2 bad input or usage.\n"
         "`twin help COMMAND` describes a command.\n";
}

void print_command_help(const CommandSpec& command, std::ostream& out) {
  std::string summary(command.summary);
  if (!summary.empty()) summary[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(summary[0])));
  out << "usage: twin " << command.usage << "\n\n" << summary << ".\n\n" << command.details << "\n";
}

bool is_help_flag(std::string_view argument) { return argument == "--help" || argument == "-h"; }

int dispatch(const Arguments& arguments) {
  if (arguments.empty()) {
    print_usage(std::cerr);
    return kExitBadInput;
  }
  const std::string& first = arguments[0];
  if (is_help_flag(first) || (first == "help" && arguments.size() == 1)) {
    print_usage(std::cout);
    return kExitSuccess;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "twin " << TWIN_VERSION << "\n";
    return kExitSuccess;
  }
  if (first == "help") {
    const CommandSpec* command = find_command(arguments[1]);
    if (!command) {
      std::cerr << "twin: no command named '" << arguments[1] << "'" << suggest_command(arguments[1]) << "\n\n";
      print_usage(std::cerr);
      return kExitBadInput;
    }
    print_command_help(*command, std::cout);
    return kExitSuccess;
  }
  const CommandSpec* command = find_command(first);
  if (!command) {
    std::cerr << "twin: unknown command '" << first << "'" << suggest_command(first) << "\n\n";
    print_usage(std::cerr);
    return kExitBadInput;
  }
  Arguments rest(arguments.begin() + 1, arguments.end());
  if (!rest.empty() && is_help_flag(rest[0])) {
    print_command_help(*command, std::cout);
    return kExitSuccess;
  }
  try {
    return command->main(rest);
  } catch (const UsageError& error) {
    std::cerr << "twin " << command->name << ": " << error.what() << "\n"
              << "usage: twin " << command->usage << "\n"
              << "`twin help " << command->name << "` for more.\n";
    return kExitBadInput;
  }
}

}  // namespace
}  // namespace twin::cli

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(true);
  return twin::cli::dispatch(twin::cli::Arguments(argv + 1, argv + argc));
}
