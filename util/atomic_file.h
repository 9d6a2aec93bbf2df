// Replacing a file's contents so that a crash leaves either the old file or the new one.
//
// The new text goes to a hidden temporary file beside the target (same file system, so the
// rename is atomic), gets the target's permissions, is synced to disk, and is renamed over
// the target; then the directory is synced so the rename itself is durable. A symbolic link
// keeps pointing at its (rewritten) target. Used by every command that rewrites a user's
// file in place (`twin fmt`, `twin verify --write`) and `twin check --proof` (which may
// create the file: a new file gets the permissions a plain create would).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace twin {

struct FileWriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws FileWriteError (message includes the path and the system's reason).
void replace_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace twin
