// Replacing a file's contents so that a crash never loses the old text or the new one.
//
// The new text goes to a hidden temporary file beside the target (same file system, so the
// rename is atomic), gets the target's permissions, owner and group, is synced to disk, and
// is renamed over the target; then the directory is synced so the rename itself is durable.
// A symbolic link keeps pointing at its (rewritten) target. Used by every command that
// rewrites a user's file in place (`twin fmt`, `twin verify --write`) and `twin check
// --proof` (which may create the file: a new file gets the permissions a plain create would).
//
// Only what the user may change is changed, as rustfmt and black do:
//   - an existing file the user cannot write (access(W_OK) with the effective ids) is refused
//     before anything is written, even where the directory would let a rename replace it;
//   - a file with other hard links, or whose owner or group the temporary file cannot take
//     (another user's file the user may write), keeps its identity: once the complete new
//     text is synced in the temporary file, it is written into the file itself and the
//     temporary file removed. A crash during that write leaves the complete new text in the
//     temporary file (named in the error), so nothing is lost.
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
