// Reading the tensors of a torch.save'd file: the `.pt2` archive's sample inputs
// (data/sample_inputs/model.pt), which torch.export.save writes as torch.save((args, kwargs)).
//
// torch.save writes a zip (capture/zip_archive.h) holding `data.pkl`, a Python pickle, and one
// entry per tensor storage (`data/0`, ...). Executing a pickle means calling whatever Python
// callables it names; this reader runs none. It interprets the opcodes of protocols 2 to 4 that
// such a file uses over a fixed vocabulary: tuples, lists, dicts, numbers, strings, None and
// booleans, the storage references (`persistent_id` tuples naming a storage type such as
// `torch.FloatStorage`) and `torch._utils._rebuild_tensor_v2` (an OrderedDict for its hooks).
// Any other global, or an opcode outside that set, is refused with its name: a file that needs
// more is not read, never partly read.
//
// The result is every tensor of the pickled object, depth first, in order (a tuple's items, a
// dict's values): for (args, kwargs), the positional inputs then the keyword ones.
#pragma once

#include "ops/tensor.h"

#include <string>
#include <string_view>
#include <vector>

namespace twin::capture {

// Throws Error (Value) naming `file` and what it does not read.
std::vector<ops::Tensor> read_torch_save_tensors(std::string_view bytes, const std::string& file);

}  // namespace twin::capture
