// Module paths ("layers.0.self_attn.q_proj") as the stages read them: their last part, their
// parent, and whether a part is a layer index.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace twin::stages {

// Whether a path part is a layer index ("0", "31").
inline bool is_index(const std::string& part) {
  return !part.empty() && std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "q_proj" of "layers.0.self_attn.q_proj"; the path itself when it has one part.
inline std::string leaf(const std::string& path) {
  auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

// "layers.0.self_attn" of "layers.0.self_attn.q_proj"; "" for a top-level module.
inline std::string parent(const std::string& path) {
  auto dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

}  // namespace twin::stages
