// Plots drawn by Twin itself as SVG (no Python needed to look at them), each with its data as
// CSV beside it: a chart is a title, axes and series of points.
#pragma once

#include <string>
#include <vector>

namespace twin::stages {

struct Series {
  std::string name;
  std::vector<double> x, y;
  std::string style = "line";  // "line", "points", "bars"
  std::string color = "#1f77b4";
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::vector<std::string> x_ticks;  // category labels at x = 0, 1, ... (bars)
  bool log_y = false;
  std::vector<std::pair<double, std::string>> hlines;  // y and label (a threshold)
  bool diagonal = false;  // the y = x line (a QQ plot)
};

std::string svg(const Chart& chart);
// One row per point: series,x,y (and the x tick label when there is one).
std::string csv(const Chart& chart);

// The charts of the stages.
Chart qq_chart(const std::string& component, std::vector<double> port_error, std::vector<double> baseline_error);
Chart histogram_chart(const std::string& component, const std::vector<double>& port_error,
                      const std::vector<double>& baseline_error, int bins = 40);

}  // namespace twin::stages
