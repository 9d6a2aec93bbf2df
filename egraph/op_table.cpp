#include "egraph/op_table.h"

#include <stdexcept>

namespace twin::egraph {

OpId OpTable::push(OpInfo info) {
  infos_.push_back(std::move(info));
  return static_cast<OpId>(infos_.size() - 1);
}

OpId OpTable::intern_apply(std::string_view name, std::uint32_t arity,
                           const std::vector<std::string>& attr_names) {
  if (attr_names.size() > arity)
    throw std::invalid_argument("operator " + std::string(name) + " has more attributes than children");
  auto key = std::make_tuple(std::string(name), arity, attr_names);
  if (auto it = applies_.find(key); it != applies_.end()) return it->second;
  OpInfo info;
  info.kind = OpKind::Apply;
  info.name = std::string(name);
  info.arity = arity;
  info.attr_names = attr_names;
  OpId id = push(std::move(info));
  applies_.emplace(std::move(key), id);
  return id;
}

OpId OpTable::intern_symbol(std::string_view name) {
  if (auto it = symbols_.find(name); it != symbols_.end()) return it->second;
  OpInfo info;
  info.kind = OpKind::Symbol;
  info.name = std::string(name);
  OpId id = push(std::move(info));
  symbols_.emplace(std::string(name), id);
  return id;
}

OpId OpTable::intern_string(std::string_view text) {
  if (auto it = strings_.find(text); it != strings_.end()) return it->second;
  OpInfo info;
  info.kind = OpKind::String;
  info.name = std::string(text);
  OpId id = push(std::move(info));
  strings_.emplace(std::string(text), id);
  return id;
}

OpId OpTable::intern_constant(const Rational& value) {
  if (auto it = constants_.find(value); it != constants_.end()) return it->second;
  OpInfo info;
  info.kind = OpKind::Constant;
  info.name = rational_to_string(value);
  info.constant = value;
  OpId id = push(std::move(info));
  constants_.emplace(value, id);
  return id;
}

std::optional<OpId> OpTable::find_apply(std::string_view name, std::uint32_t arity,
                                        const std::vector<std::string>& attr_names) const {
  auto it = applies_.find(std::make_tuple(std::string(name), arity, attr_names));
  if (it == applies_.end()) return std::nullopt;
  return it->second;
}

std::optional<OpId> OpTable::find_symbol(std::string_view name) const {
  auto it = symbols_.find(name);
  if (it == symbols_.end()) return std::nullopt;
  return it->second;
}

std::optional<OpId> OpTable::find_string(std::string_view text) const {
  auto it = strings_.find(text);
  if (it == strings_.end()) return std::nullopt;
  return it->second;
}

std::optional<OpId> OpTable::find_constant(const Rational& value) const {
  auto it = constants_.find(value);
  if (it == constants_.end()) return std::nullopt;
  return it->second;
}

std::string OpTable::display(OpId id) const {
  const OpInfo& info = infos_[id];
  switch (info.kind) {
    case OpKind::String: {
      std::string out = "\"";
      for (char c : info.name) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      return out + "\"";
    }
    case OpKind::Apply:
    case OpKind::Symbol:
    case OpKind::Constant:
      return info.name;
  }
  return info.name;
}

}  // namespace twin::egraph
