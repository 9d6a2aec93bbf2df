#include "util/source.h"

namespace twin {

SourceFile::SourceFile(std::string display_name, std::string text, std::string path)
    : display_name_(std::move(display_name)), text_(std::move(text)), path_(std::move(path)) {
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

std::string_view SourceFile::line(int line_number) const {
  if (line_number < 1 || line_number > line_count()) return {};
  std::size_t start = line_starts_[line_number - 1];
  std::size_t end = text_.find('\n', start);
  if (end == std::string::npos) end = text_.size();
  std::string_view view(text_);
  auto result = view.substr(start, end - start);
  if (!result.empty() && result.back() == '\r') result.remove_suffix(1);
  return result;
}

std::string SourceLocation::to_string() const {
  if (!file) return "<host>";
  return file->name() + ":" + std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace twin
