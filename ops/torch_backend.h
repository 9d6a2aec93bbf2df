// The libtorch boundary. Only the translation units of ops/ include <torch/torch.h>
// (each costs ~20 s to compile); everything else talks to libtorch through this header.
#pragma once

#include <string>

namespace twin::ops {

// The libtorch version this Twin was built against, e.g. "1.13.1".
std::string torch_version();

}  // namespace twin::ops
