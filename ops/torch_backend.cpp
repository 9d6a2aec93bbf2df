#include "ops/torch_backend.h"

#include <torch/torch.h>

namespace twin::ops {

std::string torch_version() {
  // TORCH_VERSION is defined by torch/version.h; ask the runtime too, so a mismatched
  // shared library shows up in `twin --version`.
  return std::string(TORCH_VERSION);
}

}  // namespace twin::ops
