"""port_tokens.py with vLLM's own signature: `forward(input_ids, positions)` over
`[num_tokens]` token ids and positions, returning `[num_tokens, vocab]` logits, where the
reference takes `[1, seq]` ids and returns `[1, seq, vocab]`. `twin check` reads the port's
ids and logits in the reference's shapes (the same elements without the unit dim) and fixes
`positions` at its example value, arange, which the reference computes inside; the verdict
lists both (docs/checking.md)."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import port  # noqa: E402
import port_tokens  # noqa: E402
import reference  # noqa: E402


class LlamaForCausalLM(port_tokens.LlamaForCausalLM):
    def forward(self, input_ids, positions):
        hidden_states = self.embed_tokens(input_ids)
        residual = None
        for layer in self.layers:
            hidden_states, residual = layer(positions, hidden_states, residual)
        hidden_states, _ = self.norm(hidden_states, residual)
        return self.lm_head(hidden_states)


def model():
    input_ids = reference.example_inputs()[0].reshape(-1)
    return port.port_model(cls=LlamaForCausalLM), (input_ids, torch.arange(input_ids.shape[0]))
