// Loads the tensor backend module on first use (see backend_loader.h for the search order).
//
// Invariants: at most one module is ever in use, and once published in `loaded` it stays for
// the life of the process (never dlclose'd: its TensorImpls, their vtables and libtorch's
// global state must outlive every Tensor handle, including those destroyed at exit). A
// module that loads but is refused (not a backend, another ABI) stays mapped too: its
// libtorch initializers have run and unloading libtorch is not safe.
#include "ops/backend_loader.h"

#include "util/error.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>

// Set by ops/CMakeLists.txt.
#ifndef TWIN_TORCH_BACKEND_FILE_NAME
#define TWIN_TORCH_BACKEND_FILE_NAME "libtwin_torch.so"
#endif
#ifndef TWIN_TORCH_BACKEND_BUILD_PATH
#define TWIN_TORCH_BACKEND_BUILD_PATH ""
#endif
#ifndef TWIN_TORCH_BACKEND_INSTALL_PATH
#define TWIN_TORCH_BACKEND_INSTALL_PATH ""
#endif
#ifndef TWIN_TORCH_BACKEND_FROM_BINDIR
#define TWIN_TORCH_BACKEND_FROM_BINDIR ""
#endif
#ifndef TWIN_VERSION
#define TWIN_VERSION "?"
#endif

// Defined (weakly) in a host built against an installed Twin: the installation's module, as
// TwinConfig.cmake found it when the host was configured. Null everywhere else.
extern "C" const char twin_package_torch_backend[] __attribute__((weak));

namespace twin::ops {

namespace fs = std::filesystem;

namespace {

struct LoadedBackend {
  const TensorBackend* backend;
  std::string path;
};

std::atomic<const LoadedBackend*> loaded{nullptr};
std::mutex loading;

// Why `path` is not usable, or "" when `module` was filled in.
std::string try_load(const std::string& path, const TwinTensorBackendModule** module) {
  // RTLD_LAZY: libtorch's own ~20,000 function relocations stay lazily bound, as they were
  // when twin linked it. The module itself is linked with -z now, so a symbol it needs and
  // its libtorch lacks fails here, with dlerror()'s message, not at the first call.
  void* handle = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!handle) {
    const char* error = ::dlerror();
    return error ? error : "dlopen failed";
  }
  auto entry = reinterpret_cast<TwinTensorBackendEntry>(::dlsym(handle, kTensorBackendEntryPoint));
  if (!entry) return std::string("not a Twin tensor backend (it has no symbol ") + kTensorBackendEntryPoint + ")";
  const TwinTensorBackendModule* m = entry();
  if (!m) return "its entry point returned no backend";
  if (m->abi_version != kTensorBackendAbiVersion) {
    return "stale module: built by Twin " + std::string(m->twin_version ? m->twin_version : "?") +
           " for backend ABI " + std::to_string(m->abi_version) + ", but this Twin (" TWIN_VERSION
           ") needs ABI " + std::to_string(kTensorBackendAbiVersion) + "; rebuild or reinstall it";
  }
  if (m->layout != tensor_backend_layout() || !m->backend) {
    return "stale module: built by Twin " + std::string(m->twin_version ? m->twin_version : "?") +
           " from headers whose types differ from this Twin's (" TWIN_VERSION
           "), under the same backend ABI; rebuild or reinstall it";
  }
  *module = m;
  return "";
}

const LoadedBackend* load() {
  std::vector<TensorBackendCandidate> candidates = tensor_backend_candidates();
  std::ostringstream failures;
  for (const TensorBackendCandidate& candidate : candidates) {
    const TwinTensorBackendModule* module = nullptr;
    std::string why = try_load(candidate.path, &module);
    if (why.empty()) return new LoadedBackend{module->backend, candidate.path};  // lives forever
    failures << "\n  " << candidate.path << " (" << candidate.origin << "): " << why;
  }
  throw Error(ErrorKind::Io,
              "cannot load Twin's tensor backend " TWIN_TORCH_BACKEND_FILE_NAME
              " (the module that links libtorch), needed to evaluate tensors; tried:" +
                  failures.str() +
                  "\nSet TWIN_TORCH_BACKEND to the module's path, or rebuild Twin (its target "
                  "twin_torch_backend) or reinstall it.");
}

}  // namespace

std::vector<TensorBackendCandidate> tensor_backend_candidates() {
  std::vector<TensorBackendCandidate> out;
  if (const char* env = std::getenv("TWIN_TORCH_BACKEND"); env && *env) {
    // An explicit choice is not second-guessed: falling back would hide a wrong path.
    out.push_back({env, "$TWIN_TORCH_BACKEND"});
    return out;
  }
  auto add = [&out](const fs::path& path, const char* origin) {
    if (path.empty()) return;
    std::string normal = path.lexically_normal().string();
    for (const auto& c : out)
      if (c.path == normal) return;
    out.push_back({normal, origin});
  };
  std::error_code ec;
  fs::path exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  if (!ec && !exe_dir.empty()) {
    add(exe_dir / TWIN_TORCH_BACKEND_FILE_NAME, "beside the executable");
    if (*TWIN_TORCH_BACKEND_FROM_BINDIR)
      add(exe_dir / TWIN_TORCH_BACKEND_FROM_BINDIR, "the installed layout, from the executable's directory");
  }
  if (twin_package_torch_backend && *twin_package_torch_backend)
    add(twin_package_torch_backend, "the Twin package this program was built against");
  add(TWIN_TORCH_BACKEND_BUILD_PATH, "the build tree");
  add(TWIN_TORCH_BACKEND_INSTALL_PATH, "the installation prefix");
  return out;
}

const TensorBackend& tensor_backend() {
  if (const LoadedBackend* l = loaded.load(std::memory_order_acquire)) return *l->backend;
  std::lock_guard<std::mutex> lock(loading);
  const LoadedBackend* l = loaded.load(std::memory_order_relaxed);
  if (!l) {
    l = load();  // throws when nothing loads; `loaded` stays null and the next call retries
    loaded.store(l, std::memory_order_release);
  }
  return *l->backend;
}

std::string loaded_tensor_backend() {
  const LoadedBackend* l = loaded.load(std::memory_order_acquire);
  return l ? l->path : std::string();
}

}  // namespace twin::ops
