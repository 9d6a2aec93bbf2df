// The example values of a `.pt2` graph (capture/export_examples.h): the sidecar, the caller's
// inputs, the archive's sample inputs, or inputs drawn from the types, in that order.
#include "capture/export_examples.h"

#include "capture/index_bounds.h"

#include "capture/safetensors.h"
#include "capture/torch_pickle.h"
#include "ops/op_spec.h"
#include "util/error.h"

#include <algorithm>
#include <map>

namespace twin::capture {

namespace {

void check_type(const ops::Tensor& t, const ops::TensorType& want, const std::string& what) {
  if (t.type() != want)
    throw Error(ErrorKind::Value, what + " is " + t.type().to_string() + ", the graph records " + want.to_string());
}

ExampleValues from_sidecar(const Graph& graph, const GraphLoadOptions& options) {
  ExampleValues out;
  out.source = ExampleSource::Sidecar;
  const std::string& file = options.io_sidecar_file.empty() ? graph.file() + " (inputs and outputs)" : options.io_sidecar_file;
  SafetensorsFile sidecar = SafetensorsFile::parse(*options.io_sidecar, file);
  if (const auto& meta = sidecar.metadata()) {
    if (auto d = meta->find("dtype"); d != meta->end()) {
      out.capture_dtype = ops::parse_dtype(d->second);
      if (!out.capture_dtype) throw Error(ErrorKind::Value, file + ": unknown dtype '" + d->second + "' in __metadata__");
    }
    if (auto s = meta->find("spec"); s != meta->end()) out.capture_source = s->second;
  }
  for (std::size_t k = 0; k < graph.inputs().size(); ++k) {
    const GraphTensor& in = graph.inputs()[k];
    std::string key = "input." + std::to_string(k);
    if (!sidecar.find(key)) throw Error(ErrorKind::Value, file + ": no tensor '" + key + "' for input '" + in.name + "'");
    out.inputs.push_back(sidecar.load(key, in.type, "tensor '" + key + "' (input '" + in.name + "')"));
  }
  for (std::size_t k = 0; k < graph.outputs().size(); ++k) {
    std::string key = "output." + std::to_string(k);
    const ops::TensorType* type = graph.type_of(graph.outputs()[k]);
    if (!sidecar.find(key) || !type) {
      out.outputs.push_back(std::nullopt);
      continue;
    }
    out.outputs.push_back(sidecar.load(key, *type, "tensor '" + key + "' (output " + graph.outputs()[k].to_string() + ")"));
  }
  return out;
}

ExampleValues drawn(const Graph& graph) {
  ExampleValues out;
  out.source = ExampleSource::Drawn;
  auto bounds = input_index_bounds(graph);
  for (std::size_t k = 0; k < graph.inputs().size(); ++k) {
    const GraphTensor& in = graph.inputs()[k];
    ops::OperandDomain domain;
    std::int64_t bound = 0;
    if (in.type.dtype == ops::DType::Bool) {
      domain.kind = ops::OperandDomain::Kind::BoolMask;
    } else if (!ops::is_floating(in.type.dtype)) {
      domain.kind = ops::OperandDomain::Kind::Index;
      auto it = bounds.find(in.name);
      bound = it != bounds.end() && it->second > 0 ? it->second : 2;
    }
    out.inputs.push_back(ops::random_tensor(in.type, domain, 0x7417 + k, bound));
  }
  return out;
}

}  // namespace

ExampleValues example_values(const Graph& graph, const Pt2Archive& archive, const GraphLoadOptions& options) {
  if (options.io_sidecar) return from_sidecar(graph, options);
  const auto& inputs = graph.inputs();
  if (!options.inputs.empty()) {
    ExampleValues out;
    out.source = ExampleSource::Given;
    for (const auto& given : options.inputs) {
      const std::string& name = given.first;  // not a structured binding: clang 14 cannot capture one
      if (std::none_of(inputs.begin(), inputs.end(), [&](const GraphTensor& in) { return in.name == name; }))
        throw Error(ErrorKind::Value, graph.file() + ": the graph has no input '" + name + "'");
    }
    for (const auto& in : inputs) {
      auto it = options.inputs.find(in.name);
      if (it == options.inputs.end()) throw Error(ErrorKind::Value, graph.file() + ": no example value given for input '" + in.name + "'");
      check_type(it->second, in.type, graph.file() + ": the example value given for input '" + in.name + "'");
      out.inputs.push_back(it->second);
    }
    return out;
  }
  if (auto sample = archive.sample_inputs()) {
    std::vector<ops::Tensor> tensors;
    try {
      tensors = read_torch_save_tensors(*sample, graph.file() + ": data/sample_inputs");
    } catch (const Error&) {
      tensors.clear();  // a pickle this reader refuses: the inputs are drawn instead
    }
    if (!tensors.empty() && tensors.size() == inputs.size()) {
      ExampleValues out;
      out.source = ExampleSource::SampleInputs;
      for (std::size_t k = 0; k < inputs.size(); ++k) {
        check_type(tensors[k], inputs[k].type, graph.file() + ": sample input " + std::to_string(k) + " ('" + inputs[k].name + "')");
        out.inputs.push_back(tensors[k]);
      }
      return out;
    }
  }
  return drawn(graph);
}

}  // namespace twin::capture
