// Stages 5/6: teacher-forced end-to-end metrics, over StageOptions::sequences sequences
// (each prompt the example's tokens rotated by the sequence's index), so the percentiles are
// taken over more positions than one captured length holds.
//
// How a captured graph runs at several lengths: a traced graph has fixed sizes, so Twin runs
// it at its captured length L and relies on the causal mask: the logits at position t depend
// on tokens 0..t only. The sequence is built greedily from the fp32 reference: tokens
// 0..P-1 are the example's prompt, token t+1 is the argmax of ref32's logits at position t
// (the later positions, still placeholders, do not affect position t). Then all three runs
// see the same full sequence, and position t's logits are the teacher-forced prediction
// after the prefix 0..t: one run per variant gives every position. Causality is checked, not
// assumed: ref32 is re-run with the last token changed, and every earlier position's logits
// must stay the same (else the stage says it does not apply).
#include "stages/stages.h"


#include <algorithm>
#include <cmath>

namespace twin::stages {
namespace {


// The token input: the one integer input of shape [1, L] (or [L]).
int token_input(const Graph& g) {
  for (std::size_t i = 0; i < g.inputs().size(); ++i) {
    const auto& t = g.inputs()[i].type;
    if (!ops::is_floating(t.dtype) && t.dtype != ops::DType::Bool && !t.shape.empty() && t.shape.size() <= 2 &&
        (t.shape.size() == 1 || t.shape[0] == 1))
      return int(i);
  }
  return -1;
}

// Logits [L, V] from the graph's first output.
std::vector<std::vector<double>> logits(const ops::Tensor& out, std::int64_t length) {
  auto shape = out.shape();
  std::vector<std::vector<double>> rows;
  if (shape.empty() || out.numel() % length) return rows;
  const std::int64_t vocab = out.numel() / length;
  auto v = out.to_doubles();
  for (std::int64_t t = 0; t < length; ++t) rows.emplace_back(v.begin() + t * vocab, v.begin() + (t + 1) * vocab);
  return rows;
}

std::int64_t argmax(const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); }

std::vector<double> log_softmax(const std::vector<double>& v) {
  double m = *std::max_element(v.begin(), v.end()), s = 0;
  for (double x : v) s += std::exp(x - m);
  std::vector<double> out;
  for (double x : v) out.push_back(x - m - std::log(s));
  return out;
}

// One position's metrics: ref32's, the port's and ref16's logits there.
PositionMetrics measure_position(const std::vector<double>& ref32, const std::vector<double>& port16,
                                 const std::vector<double>& ref16, double eps) {
  PositionMetrics p;
  p.token = argmax(ref32);
  double e = 0, b = 0, dot = 0, np = 0, nr = 0;
  for (std::size_t v = 0; v < ref32.size(); ++v) {
    const double r = ref32[v], x = port16[v], y = ref16[v];
    e += (x - r) * (x - r);
    b += (y - r) * (y - r);
    dot += x * r;
    np += x * x;
    nr += r * r;
  }
  double base = std::sqrt(b);
  if (base == 0) base = std::sqrt(nr) / 512;  // the epsilon-perturbation baseline
  p.r_ratio = std::sqrt(e) / (base + eps);
  p.cosine = np > 0 && nr > 0 ? dot / std::sqrt(np * nr) : 0;
  auto lp = log_softmax(ref32), lq = log_softmax(port16);
  for (std::size_t v = 0; v < lp.size(); ++v) p.kl += std::exp(lp[v]) * (lp[v] - lq[v]);
  p.top1 = argmax(port16) == p.token;
  return p;
}

}  // namespace

TeacherForced teacher_forced(const Graph& reference, const Graph& port, const StageOptions& options, int prompt_length) {
  TeacherForced tf;
  const int in = token_input(reference);
  if (in < 0 || reference.outputs().empty()) {
    tf.note = "the reference has no token-id input of shape [1, L] or no output";
    return tf;
  }
  const auto& type = reference.inputs()[in].type;
  const std::int64_t length = type.shape.back();
  auto rin = reference_inputs(reference);
  const std::string name = reference.inputs()[in].name;
  std::vector<double> tokens = rin.at(name).to_doubles();
  tf.length = int(length);
  tf.prompt_length = std::clamp(prompt_length, 1, int(length));
  auto with_tokens = [&](const std::vector<double>& t) {
    auto m = rin;
    m[name] = ops::Tensor::from_doubles(t, type.shape, type.dtype);
    return m;
  };
  auto run_logits = [&](const Graph& g, const std::map<std::string, ops::Tensor>& inputs, RunMode mode) {
    RunResult r = run_graph(g, inputs, {mode, std::vector<std::string>{}, {}});
    return logits(r.outputs.at(0), length);
  };
  const std::vector<double> example = tokens;
  // One teacher-forced sequence: its prompt is the example's tokens rotated by `index`, the
  // rest greedy from the fp32 reference. Returns ref32's logits over it (empty: not [L, V]).
  auto greedy = [&](int index, std::vector<double>& seq) {
    seq = example;
    for (std::int64_t i = 0; i < tf.prompt_length; ++i) seq[i] = example[(i + index) % length];
    for (std::int64_t t = tf.prompt_length; t < length; ++t) {
      if (options.progress)
        options.progress("stages 5/6: sequence " + std::to_string(index + 1) + ", greedy token " + std::to_string(t) + "/" +
                         std::to_string(length - 1));
      auto l = run_logits(reference, with_tokens(seq), RunMode::F32);
      if (l.size() != std::size_t(length)) return std::vector<std::vector<double>>{};
      seq[t] = double(argmax(l[t - 1]));
    }
    return run_logits(reference, with_tokens(seq), RunMode::F32);
  };
  std::vector<double> rs, coss, kls;
  int agree = 0;
  for (int index = 0; index < std::max(1, options.sequences); ++index) {
    const auto ref32 = greedy(index, tokens);
    if (ref32.size() != std::size_t(length)) {
      tf.note = "the reference's first output is not [L, vocab] logits";
      return tf;
    }
    if (index == 0) {
      if (options.progress) options.progress("stages 5/6: causality");
      // Causality: the last token changed, earlier logits unchanged.
      auto changed = tokens;
      const auto vocab = std::int64_t(ref32.empty() ? 1 : ref32[0].size());
      changed.back() = double((std::int64_t(changed.back()) + 1) % std::max<std::int64_t>(vocab, 2));
      auto again = run_logits(reference, with_tokens(changed), RunMode::F32);
      tf.causal = again.size() == ref32.size();
      for (std::int64_t t = 0; tf.causal && t + 1 < length; ++t)
        for (std::size_t v = 0; v < ref32[t].size(); ++v)
          if (std::abs(again[t][v] - ref32[t][v]) > 1e-5 * (1 + std::abs(ref32[t][v]))) { tf.causal = false; break; }
      if (!tf.causal) {
        tf.note = "the reference is not causal at its captured length (a later token changes earlier logits): teacher forcing needs one capture per length";
        return tf;
      }
    }
    if (options.progress) options.progress("stages 5/6: sequence " + std::to_string(index + 1) + ", teacher-forced runs");
    const auto ref16 = run_logits(reference, with_tokens(tokens), low_precision_mode(reference));
    std::map<std::string, ops::Tensor> pin;
    {
      const auto given = with_tokens(tokens);
      // The port's inputs by position.
      for (std::size_t i = 0; i < port.inputs().size() && i < reference.inputs().size(); ++i)
        pin[port.inputs()[i].name] = given.at(reference.inputs()[i].name);
    }
    const auto port16 = run_logits(port, pin, low_precision_mode(port));
    if (port16.size() != ref32.size() || ref16.size() != ref32.size()) {
      tf.note = "the port's logits do not have the reference's shape";
      return tf;
    }
    std::vector<std::int64_t> as_ints;
    for (auto t : tokens) as_ints.push_back(std::int64_t(t));
    if (index == 0) tf.tokens = as_ints;
    tf.sequences.push_back(std::move(as_ints));
    // Position t predicts token t+1: the positions from the prompt's last token on.
    for (std::int64_t t = tf.prompt_length - 1; t < length; ++t) {
      PositionMetrics p = measure_position(ref32[t], port16[t], ref16[t], options.eps);
      p.sequence = index;
      p.position = int(t);
      agree += p.top1;
      rs.push_back(p.r_ratio);
      coss.push_back(p.cosine);
      kls.push_back(p.kl);
      tf.positions.push_back(p);
    }
  }
  tf.applicable = true;
  tf.r_p95 = quantile(rs, 0.95);
  tf.cosine_p5 = quantile(coss, 0.05);
  tf.kl_p95 = quantile(kls, 0.95);
  tf.top1 = double(agree) / double(tf.positions.size());
  tf.pass = tf.r_p95 < options.tau_r && tf.cosine_p5 >= options.theta && tf.kl_p95 <= options.delta && tf.top1 > 0.5;
  return tf;
}


}  // namespace twin::stages
