"""The vLLM-style port (vllm_rotary.py) with vLLM's vocabulary padding: `VocabParallelEmbedding`
and `ParallelLMHead` pad the vocabulary up to a multiple of 64 (`pad_vocab_size`), the
converter copies the reference's rows into the first `vocab_size` rows of each table and
leaves the padding rows zero, and the logits processor cuts the logits back to
`org_vocab_size`. Twin infers both weights' relations as `cat([W, zeros(shape=[28, 64],
dtype=f32)], dim=0)`. The token ids are below 100 wherever the reference is defined (its
embedding has 100 rows: the index domain), so the padded rows are never looked up
(`layout.embedding_of_padded_table`), and the cut logits are the first part of a fused
projection (`linear_algebra.fused_projection_first`)."""
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402
import vllm_rotary  # noqa: E402

VOCAB_PADDING = 64  # vLLM's DEFAULT_VOCAB_PADDING_SIZE


def pad_vocab_size(vocab_size, pad_to=VOCAB_PADDING):
    return (vocab_size + pad_to - 1) // pad_to * pad_to


class VocabParallelEmbedding(nn.Module):
    """One rank's table (TP = 1): the padded vocabulary's rows."""

    def __init__(self, org_vocab_size, hidden_size):
        super().__init__()
        self.org_vocab_size = org_vocab_size
        self.weight = nn.Parameter(torch.zeros(pad_vocab_size(org_vocab_size), hidden_size))

    def load(self, weight):
        with torch.no_grad():
            self.weight.zero_()
            self.weight[: weight.shape[0]].copy_(weight)

    def forward(self, input_ids):
        return F.embedding(input_ids, self.weight)


class ParallelLMHead(VocabParallelEmbedding):
    """The head shares the embedding's padded layout; LogitsProcessor applies it."""

    def forward(self, input_ids):
        raise RuntimeError("LMHead's weights are applied by the LogitsProcessor")


class LogitsProcessor(nn.Module):
    """vLLM's LogitsProcessor: the head's linear, then the padded vocabulary's logits cut off."""

    def __init__(self, org_vocab_size):
        super().__init__()
        self.org_vocab_size = org_vocab_size

    def forward(self, lm_head, hidden_states):
        logits = F.linear(hidden_states, lm_head.weight)
        return logits[..., : self.org_vocab_size]


class LlamaForCausalLM(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.model = vllm_rotary.LlamaModel(config)
        self.lm_head = ParallelLMHead(config.vocab_size, config.hidden_size)
        self.logits_processor = LogitsProcessor(config.vocab_size)

    def forward(self, input_ids, positions):
        return self.logits_processor(self.lm_head, self.model(input_ids, positions))


def model(config=reference.LlamaConfig):
    ported = LlamaForCausalLM(config)
    state = vllm_rotary.convert(reference.reference_model(config).state_dict(), config)
    ported.model.load_state_dict({k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}, strict=True)
    # The padded table in the plain one's place, as vLLM's model builds it.
    ported.model.embed_tokens = VocabParallelEmbedding(config.vocab_size, config.hidden_size)
    ported.model.embed_tokens.load(state["model.embed_tokens.weight"])
    ported.lm_head.load(state["lm_head.weight"])
    (input_ids,) = reference.example_inputs(config)
    return ported.eval(), (input_ids, torch.arange(input_ids.shape[1]))
