# bug in: logits_processor
"""The padded-vocabulary port (examples/llama/variants/vllm_padded_vocab.py) with a converter
that writes the reference's lm_head rows at the end of the padded weight (the padding first),
while the logits processor still keeps the first `vocab_size` logits: every token's logit is
read from another token's row, 28 rows off, and the last 28 are zeros."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "variants"))
import vllm_padded_vocab  # noqa: E402


def model():
    port, inputs = vllm_padded_vocab.model()
    weight = port.lm_head.weight
    with torch.no_grad():
        rows = weight[: port.lm_head.org_vocab_size].clone()
        weight.zero_()
        weight[weight.shape[0] - rows.shape[0]:].copy_(rows)
    return port, inputs
