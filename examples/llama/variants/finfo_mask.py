"""The reference with the causal mask HuggingFace's Llama has written since transformers 4.36:
finfo(dtype).min above the diagonal instead of -inf. The same function wherever a row keeps a
score, which a causal mask always does (the diagonal); the port masks with masked_fill(-inf)."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402


class LlamaForCausalLM(reference.LlamaForCausalLM):
    def forward(self, input_ids):
        inputs_embeds = self.embed_tokens(input_ids)
        batch_size, seq_length = input_ids.shape
        position_ids = torch.arange(0, seq_length, dtype=torch.long, device=input_ids.device).unsqueeze(0)
        dtype = inputs_embeds.dtype
        causal_mask = torch.full((seq_length, seq_length), fill_value=torch.finfo(dtype).min, dtype=dtype,
                                 device=input_ids.device)
        causal_mask = torch.triu(causal_mask, diagonal=1)
        causal_mask = causal_mask[None, None, :, :].expand(batch_size, 1, -1, -1)
        hidden_states = inputs_embeds
        position_embeddings = self.rotary_emb(hidden_states, position_ids)
        for decoder_layer in self.layers:
            hidden_states = decoder_layer(hidden_states, position_embeddings, causal_mask)
        hidden_states = self.norm(hidden_states)
        return self.lm_head(hidden_states)


def model():
    m = reference.reference_model()
    m.__class__ = LlamaForCausalLM
    return m, reference.example_inputs()
