// Finding and loading the tensor backend module, libtwin_torch.so (ops/tensor_backend.h), the
// first time a tensor is needed. Until then no libtorch library is mapped into the process:
// `twin --help`, `twin fmt` and a host that never touches a tensor start without paying for
// libtorch's initializers.
//
// Where the module is looked for, in this order (docs/building.md):
//   1. $TWIN_TORCH_BACKEND, a path to the module; when set, it is the only place tried;
//   2. beside the running executable (build/twin finds build/libtwin_torch.so);
//   3. <executable's directory>/../<libdir>/twin/, an installed twin, wherever its prefix moved;
//   4. the installation of Twin a host was built against with find_package(Twin), which
//      compiles its module's path into the host (cmake/TwinConfig.cmake.in);
//   5. the build tree's module, its path compiled in (tests, benches, examples/embed);
//   6. the installed module, its path compiled in (<prefix>/<libdir>/twin/libtwin_torch.so).
// The first module that loads and matches this Twin's backend ABI is used; it is never
// unloaded.
#pragma once

#include "ops/tensor_backend.h"

#include <string>
#include <vector>

namespace twin::ops {

// The backend, loaded on the first call; thread-safe, and later calls cost one atomic load.
// When no candidate loads it throws twin::Error (kind Io) whose message names every path
// tried and why it failed (dlerror()'s text, or a module built for another backend ABI); the
// next call tries again.
const TensorBackend& tensor_backend();

// The path of the loaded module, or "" while none is loaded. Never loads it.
std::string loaded_tensor_backend();

// The paths tensor_backend() would try, in order, each with why it is a candidate
// ("$TWIN_TORCH_BACKEND", "beside the executable", ...).
struct TensorBackendCandidate {
  std::string path;
  std::string origin;
};
std::vector<TensorBackendCandidate> tensor_backend_candidates();

}  // namespace twin::ops
