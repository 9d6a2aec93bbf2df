// twin ops [--markdown | --json] [OP...]
//
// The op registry (ops/op_spec.h) as a user sees it: each op's signature, attributes with
// their defaults, aliases, how rules over it are validated, and which backends it has
// (libtorch evaluation, a Z3 encoding, the ATen ops captured graphs map onto it).
// docs/ops.md's table is `twin ops --markdown`; tests/cli_test.cpp keeps them the same.
#include "cli/command.h"

#include "capture/aten_mapping.h"
#include "ops/op_spec.h"
#include "ops/tensor.h"
#include "verify/encodable_ops.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <set>

namespace twin::cli {

namespace {

std::string default_text(const ops::AttrValue& value) {
  if (std::holds_alternative<std::monostate>(value.value)) return "none";
  if (auto* s = std::get_if<std::string>(&value.value)) return "\"" + *s + "\"";
  return value.to_string();
}

struct Row {
  const ops::OpSpec* spec;
  std::string signature;                // "slice(input; dim: int = 0, start: int = none, ...)"
  std::vector<std::string> aten;        // ATen ops whose mapping emits it
  bool kernel = false, z3 = false;
};

std::vector<Row> rows(const std::set<std::string>& only) {
  std::map<std::string, std::vector<std::string>> aten_by_op;
  for (const auto& mapping : capture::aten_mappings())
    for (const auto& op : mapping.emits) aten_by_op[op].push_back(mapping.aten_name);
  std::vector<Row> out;
  for (const ops::OpSpec& spec : ops::all_ops()) {
    if (!only.empty() && !only.count(spec.name)) continue;
    Row r{&spec, "", aten_by_op[spec.name], ops::has_kernel(spec.name), verify::has_z3_encoding(spec.name)};
    r.signature = spec.name + "(";
    for (std::size_t i = 0; i < spec.operands.size(); ++i) {
      const auto& o = spec.operands[i];
      r.signature += (i ? ", " : "") + o.name + (o.is_list ? "[]" : "") + (o.optional ? "?" : "");
    }
    for (std::size_t i = 0; i < spec.attributes.size(); ++i) {
      const auto& a = spec.attributes[i];
      r.signature += std::string(i ? ", " : "; ") + a.name + ": " + ops::attr_kind_name(a.kind);
      if (a.default_value) r.signature += " = " + default_text(*a.default_value);
    }
    r.signature += ")";
    out.push_back(std::move(r));
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

void print_markdown(const std::vector<Row>& table) {
  std::cout << "| op | family | signature | aliases | validated by | backends | ATen ops mapped onto it |\n"
            << "| --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& r : table) {
    std::vector<std::string> backends;
    if (r.kernel) backends.push_back("libtorch");
    if (r.z3) backends.push_back("Z3");
    std::vector<std::string> aten;
    for (const auto& a : r.aten) aten.push_back("`" + a + "`");
    std::cout << "| `" << r.spec->name << "` | " << ops::family_name(r.spec->family) << " | `" << r.signature << "` | "
              << join(r.spec->aliases) << " | " << ops::validation_name(r.spec->validation) << " | " << join(backends) << " | "
              << join(aten) << " |\n";
  }
}

void print_text(const std::vector<Row>& table) {
  for (const auto& r : table) {
    std::cout << r.signature << "\n";
    std::cout << "    " << ops::family_name(r.spec->family) << "; validated " << ops::validation_name(r.spec->validation)
              << "; evaluation " << (r.kernel ? "libtorch" : "none") << "; Z3 " << (r.z3 ? "yes" : "no") << "\n";
    if (!r.spec->aliases.empty()) std::cout << "    aliases: " << join(r.spec->aliases) << "\n";
    if (!r.aten.empty()) std::cout << "    from ATen: " << join(r.aten) << "\n";
  }
  std::cout << table.size() << " ops\n";
}

void print_json(const std::vector<Row>& table) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : table) {
    nlohmann::json attributes = nlohmann::json::array();
    for (const auto& a : r.spec->attributes)
      attributes.push_back({{"name", a.name}, {"kind", ops::attr_kind_name(a.kind)},
                            {"default", a.default_value ? nlohmann::json(default_text(*a.default_value)) : nlohmann::json()}});
    nlohmann::json operands = nlohmann::json::array();
    for (const auto& o : r.spec->operands) operands.push_back({{"name", o.name}, {"list", o.is_list}, {"optional", o.optional}});
    out.push_back({{"name", r.spec->name}, {"family", ops::family_name(r.spec->family)}, {"operands", operands},
                   {"attributes", attributes}, {"aliases", r.spec->aliases},
                   {"validation", ops::validation_name(r.spec->validation)}, {"libtorch", r.kernel}, {"z3", r.z3},
                   {"aten", r.aten}});
  }
  std::cout << out.dump(2) << "\n";
}

int ops_main(const Arguments& arguments) {
  enum { Text, Markdown, Json } format = Text;
  std::set<std::string> only;
  for (const auto& a : arguments) {
    if (a == "--markdown") format = Markdown;
    else if (a == "--json") format = Json;
    else if (a.starts_with("-")) unknown_option(a);
    else if (const ops::OpSpec* spec = ops::find_op(a)) only.insert(spec->name);
    else throw UsageError("no op named `" + a + "` (`twin ops` lists them)");
  }
  auto table = rows(only);
  if (format == Markdown) print_markdown(table);
  else if (format == Json) print_json(table);
  else print_text(table);
  return kExitSuccess;
}

}  // namespace

const CommandSpec kOpsCommand{
    .name = "ops",
    .usage = "ops [--markdown | --json] [OP...]",
    .summary = "list the tensor ops Twin knows, with their signatures and backends",
    .details = R"(Prints the op registry: for each op (or only the ops named), its signature (tensor
operands, then attributes with their kinds and defaults), its aliases, how rules over it are
validated (symbolic: Z3 over concrete shapes; random only: constraint-aware random testing),
its backends (libtorch evaluation, a Z3 encoding) and the ATen ops that captured graphs map
onto it. docs/ops.md's table is `twin ops --markdown`.

Options:
  --markdown         one Markdown table
  --json             a JSON array, one object per op

Exit status: 0 printed; 2 an unknown op or option.)",
    .main = ops_main,
};

}  // namespace twin::cli
