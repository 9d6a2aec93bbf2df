#include "compiler/declarations.h"

namespace twin::compiler {

const OpSource* Declarations::op(std::string_view name) const {
  auto it = ops.find(name);
  return it == ops.end() ? nullptr : it->second.get();
}

const RulesetSource* Declarations::ruleset(std::string_view name) const {
  for (const auto& r : rulesets)
    if (r->name == name) return r.get();
  return nullptr;
}

std::vector<std::shared_ptr<const RuleSource>> Declarations::all_rules() const {
  std::vector<std::shared_ptr<const RuleSource>> out;
  for (const auto& ruleset : rulesets) out.insert(out.end(), ruleset->rules.begin(), ruleset->rules.end());
  return out;
}

}  // namespace twin::compiler
