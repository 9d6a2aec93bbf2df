#include "stages/plots.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace twin::stages {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double x) {
  std::ostringstream os;
  os.precision(6);
  os << x;
  return os.str();
}

}  // namespace

std::string svg(const Chart& c) {
  const double W = 720, H = 420, L = 70, R = 20, T = 40, B = c.x_ticks.empty() ? 50 : 130;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  auto ty = [&](double y) { return c.log_y ? std::log10(std::max(y, 1e-12)) : y; };
  for (const auto& s : c.series)
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
    }
  for (const auto& [y, label] : c.hlines) y0 = std::min(y0, ty(y)), y1 = std::max(y1, ty(y));
  if (x0 > x1) x0 = 0, x1 = 1;
  if (y0 > y1) y0 = 0, y1 = 1;
  if (c.diagonal) x0 = y0 = std::min(x0, y0), x1 = y1 = std::max(x1, y1);
  bool bars = std::any_of(c.series.begin(), c.series.end(), [](const Series& s) { return s.style == "bars"; });
  if (bars) x0 -= 0.5, x1 += 0.5, y0 = std::min(y0, c.log_y ? y0 : 0.0);
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double pad = (y1 - y0) * 0.05;
  y1 += pad;
  if (!bars) y0 -= pad;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (ty(y) - y0) / (y1 - y0) * (H - T - B); };
  auto py_raw = [&](double v) { return H - B - (v - y0) / (y1 - y0) * (H - T - B); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << " " << H
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  o << "<title>" << escape(c.title) << "</title>\n";
  o << "<rect x=\"0\" y=\"0\" width=\"" << W << "\" height=\"" << H << "\" fill=\"white\"/>\n";
  o << "<text x=\"" << W / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << escape(c.title) << "</text>\n";
  o << "<g stroke=\"#333\"><line x1=\"" << L << "\" y1=\"" << H - B << "\" x2=\"" << W - R << "\" y2=\"" << H - B << "\"/>"
    << "<line x1=\"" << L << "\" y1=\"" << T << "\" x2=\"" << L << "\" y2=\"" << H - B << "\"/></g>\n";
  // Axis ticks: 5 on y, 5 on x (or the category labels).
  for (int i = 0; i <= 4; ++i) {
    const double v = y0 + (y1 - y0) * i / 4;
    o << "<text x=\"" << L - 5 << "\" y=\"" << py_raw(v) + 4 << "\" text-anchor=\"end\">" << num(c.log_y ? std::pow(10, v) : v) << "</text>\n";
  }
  if (c.x_ticks.empty()) {
    for (int i = 0; i <= 4; ++i) {
      const double v = x0 + (x1 - x0) * i / 4;
      o << "<text x=\"" << px(v) << "\" y=\"" << H - B + 15 << "\" text-anchor=\"middle\">" << num(v) << "</text>\n";
    }
  } else {
    for (std::size_t i = 0; i < c.x_ticks.size(); ++i)
      o << "<text transform=\"translate(" << px(double(i)) << "," << H - B + 8 << ") rotate(60)\">" << escape(c.x_ticks[i]) << "</text>\n";
  }
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 8 << "\" text-anchor=\"middle\">" << escape(c.x_label) << "</text>\n";
  o << "<text transform=\"translate(14," << (T + H - B) / 2 << ") rotate(-90)\" text-anchor=\"middle\">" << escape(c.y_label)
    << (c.log_y ? " (log scale)" : "") << "</text>\n";
  if (c.diagonal)
    o << "<line x1=\"" << px(x0) << "\" y1=\"" << py_raw(y0) << "\" x2=\"" << px(x1) << "\" y2=\"" << py_raw(y1)
      << "\" stroke=\"#999\" stroke-dasharray=\"4 3\"><title>y = x</title></line>\n";
  for (const auto& [y, label] : c.hlines)
    o << "<g><line x1=\"" << L << "\" y1=\"" << py(y) << "\" x2=\"" << W - R << "\" y2=\"" << py(y)
      << "\" stroke=\"#d62728\" stroke-dasharray=\"6 3\"/><text x=\"" << W - R << "\" y=\"" << py(y) - 4
      << "\" text-anchor=\"end\" fill=\"#d62728\">" << escape(label) << "</text></g>\n";
  for (const auto& s : c.series) {
    o << "<g fill=\"" << s.color << "\" stroke=\"" << s.color << "\"><title>" << escape(s.name) << "</title>\n";
    if (s.style == "line") {
      o << "<polyline fill=\"none\" points=\"";
      for (std::size_t i = 0; i < s.x.size(); ++i)
        if (std::isfinite(s.y[i])) o << px(s.x[i]) << "," << py(s.y[i]) << " ";
      o << "\"/>\n";
      for (std::size_t i = 0; i < s.x.size(); ++i)
        if (std::isfinite(s.y[i])) o << "<circle cx=\"" << px(s.x[i]) << "\" cy=\"" << py(s.y[i]) << "\" r=\"2.5\"/>\n";
    } else if (s.style == "points") {
      for (std::size_t i = 0; i < s.x.size(); ++i)
        if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
          o << "<circle cx=\"" << px(s.x[i]) << "\" cy=\"" << py(s.y[i]) << "\" r=\"1.8\" fill-opacity=\"0.6\" stroke=\"none\"/>\n";
    } else {
      const double w = (W - L - R) / (x1 - x0) * 0.8 / double(std::max<std::size_t>(1, std::count_if(c.series.begin(), c.series.end(), [](const Series& x) { return x.style == "bars"; })));
      std::size_t index = 0;
      for (const auto& t : c.series) { if (&t == &s) break; if (t.style == "bars") ++index; }
      for (std::size_t i = 0; i < s.x.size(); ++i) {
        if (!std::isfinite(s.y[i])) continue;
        const double base = c.log_y ? py_raw(y0) : py(0), top = py(s.y[i]);
        o << "<rect x=\"" << px(s.x[i]) - w * 0.5 * double(std::count_if(c.series.begin(), c.series.end(), [](const Series& x) { return x.style == "bars"; })) + w * double(index)
          << "\" y=\"" << std::min(base, top) << "\" width=\"" << w << "\" height=\"" << std::abs(base - top)
          << "\" stroke=\"none\"><title>" << escape((i < c.x_ticks.size() ? c.x_ticks[i] : num(s.x[i])) + ": " + num(s.y[i])) << "</title></rect>\n";
      }
    }
    o << "</g>\n";
  }
  // Legend.
  for (std::size_t i = 0; i < c.series.size(); ++i)
    o << "<g><rect x=\"" << L + 10 << "\" y=\"" << T + 4 + 16 * double(i) << "\" width=\"10\" height=\"10\" fill=\"" << c.series[i].color
      << "\"/><text x=\"" << L + 26 << "\" y=\"" << T + 13 + 16 * double(i) << "\">" << escape(c.series[i].name) << "</text></g>\n";
  o << "</svg>\n";
  return o.str();
}

std::string csv(const Chart& c) {
  std::ostringstream o;
  o.precision(9);
  o << "series,x,y" << (c.x_ticks.empty() ? "" : ",label") << "\n";
  for (const auto& s : c.series)
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      o << s.name << "," << s.x[i] << "," << s.y[i];
      if (!c.x_ticks.empty()) {
        const auto k = std::size_t(std::llround(s.x[i]));
        o << "," << (k < c.x_ticks.size() ? c.x_ticks[k] : "");
      }
      o << "\n";
    }
  return o.str();
}

Chart qq_chart(const std::string& component, std::vector<double> port_error, std::vector<double> baseline_error) {
  Chart c;
  c.title = "QQ: " + component + " (port error vs precision baseline)";
  c.x_label = "quantiles of ref_bf16 - ref_fp32";
  c.y_label = "quantiles of target_bf16 - ref_fp32";
  c.diagonal = true;
  std::sort(port_error.begin(), port_error.end());
  std::sort(baseline_error.begin(), baseline_error.end());
  Series s{"quantiles", {}, {}, "points", "#1f77b4"};
  const std::size_t n = std::min(port_error.size(), baseline_error.size());
  const std::size_t points = std::min<std::size_t>(n, 400);
  for (std::size_t k = 0; k < points; ++k) {
    const double q = points == 1 ? 0 : double(k) / double(points - 1);
    s.x.push_back(baseline_error[std::size_t(q * double(baseline_error.size() - 1))]);
    s.y.push_back(port_error[std::size_t(q * double(port_error.size() - 1))]);
  }
  c.series.push_back(std::move(s));
  return c;
}

Chart histogram_chart(const std::string& component, const std::vector<double>& port_error,
                      const std::vector<double>& baseline_error, int bins) {
  Chart c;
  c.title = "Error histogram: " + component;
  c.x_label = "error against ref_fp32";
  c.y_label = "count";
  double lo = 0, hi = 0;
  for (const auto* v : {&port_error, &baseline_error})
    for (double x : *v)
      if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (hi == lo) hi = lo + 1e-12;
  auto hist = [&](const std::vector<double>& v, const std::string& name, const std::string& color) {
    Series s{name, {}, {}, "line", color};
    std::vector<double> counts(bins, 0);
    for (double x : v)
      if (std::isfinite(x)) counts[std::min(bins - 1, int((x - lo) / (hi - lo) * bins))] += 1;
    for (int b = 0; b < bins; ++b) {
      s.x.push_back(lo + (hi - lo) * (b + 0.5) / bins);
      s.y.push_back(counts[b]);
    }
    return s;
  };
  c.series.push_back(hist(port_error, "target_bf16 - ref_fp32", "#1f77b4"));
  c.series.push_back(hist(baseline_error, "ref_bf16 - ref_fp32", "#ff7f0e"));
  return c;
}

}  // namespace twin::stages
