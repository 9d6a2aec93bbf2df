// Source text and positions.
//
// Every syntax node carries a SourceLocation: the file it came from and a 1-based line and
// column. Errors print them as `file:line:col`, so editors and CI logs can jump to them.
// A SourceFile is shared (not copied) by every node and value that came from it; it stays
// alive as long as any rule or function defined in it does.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace twin {

class SourceFile {
 public:
  // `path` is the file's absolute path on disk; empty for text that came from no file.
  SourceFile(std::string display_name, std::string text, std::string path = "");

  const std::string& name() const { return display_name_; }
  const std::string& text() const { return text_; }
  const std::string& path() const { return path_; }
  // The text of a 1-based line without its newline; empty when out of range.
  std::string_view line(int line_number) const;
  int line_count() const { return static_cast<int>(line_starts_.size()); }

 private:
  std::string display_name_;
  std::string text_;
  std::string path_;
  std::vector<std::size_t> line_starts_;
};

struct SourceLocation {
  std::shared_ptr<const SourceFile> file;
  int line = 0;    // 1-based; 0 means "no location" (values made by the host)
  int column = 0;  // 1-based

  bool known() const { return file != nullptr && line > 0; }
  std::string to_string() const;  // "file:line:col"
};

}  // namespace twin
