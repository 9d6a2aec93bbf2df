"""The reference with HuggingFace's static KV cache (transformers' StaticCache, as
`generate(cache_implementation="static")` and compiled decoding use it): each layer's keys and
values are written into a preallocated [batch, kv_heads, max_len, head_dim] buffer with
`index_copy_(2, cache_position, ...)` and attention reads the whole buffer, the causal mask
built over all max_len slots (0 where attended, finfo(dtype).min elsewhere, unwritten slots
included) and added to the scores."""
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402


class StaticCacheAttention(reference.LlamaAttention):
    def __init__(self, config, layer_idx):
        super().__init__(config, layer_idx)
        shape = (1, self.num_key_value_heads, config.max_position_embeddings, self.head_dim)
        self.register_buffer("key_cache", torch.zeros(shape), persistent=False)
        self.register_buffer("value_cache", torch.zeros(shape), persistent=False)

    def forward(self, hidden_states, position_embeddings, attention_mask, cache_position):
        bsz, q_len, _ = hidden_states.size()
        query_states = self.q_proj(hidden_states).view(bsz, q_len, self.num_heads, self.head_dim).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(bsz, q_len, self.num_key_value_heads, self.head_dim).transpose(1, 2)
        cos, sin = position_embeddings
        query_states, key_states = reference.apply_rotary_pos_emb(query_states, key_states, cos, sin)

        # StaticCache.update: written in place, the whole buffer returned
        self.key_cache.index_copy_(2, cache_position, key_states)
        self.value_cache.index_copy_(2, cache_position, value_states)
        key_states = reference.repeat_kv(self.key_cache, self.num_key_value_groups)
        value_states = reference.repeat_kv(self.value_cache, self.num_key_value_groups)

        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) / math.sqrt(self.head_dim)
        attn_weights = attn_weights + attention_mask[:, :, :, : key_states.shape[-2]]
        attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query_states.dtype)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous().reshape(bsz, q_len, -1)
        return self.o_proj(attn_output)


class DecoderLayer(reference.LlamaDecoderLayer):
    def forward(self, hidden_states, position_embeddings, attention_mask, cache_position):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states = self.self_attn(hidden_states, position_embeddings, attention_mask, cache_position)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        return residual + hidden_states


class StaticCacheLlama(reference.LlamaForCausalLM):
    def forward(self, input_ids):
        inputs_embeds = self.embed_tokens(input_ids)
        batch_size, seq_length = input_ids.shape
        cache_position = torch.arange(0, seq_length, device=input_ids.device)
        position_ids = cache_position.unsqueeze(0)
        # transformers' _update_causal_mask for a static cache of max_len slots
        dtype = inputs_embeds.dtype
        target_length = self.layers[0].self_attn.key_cache.shape[2]
        min_dtype = torch.finfo(dtype).min
        causal_mask = torch.full((seq_length, target_length), fill_value=min_dtype, dtype=dtype, device=input_ids.device)
        causal_mask = torch.triu(causal_mask, diagonal=1)
        causal_mask *= torch.arange(target_length, device=input_ids.device) > cache_position.reshape(-1, 1)
        causal_mask = causal_mask[None, None, :, :].expand(batch_size, 1, -1, -1)

        hidden_states = inputs_embeds
        position_embeddings = self.rotary_emb(hidden_states, position_ids)
        for decoder_layer in self.layers:
            hidden_states = decoder_layer(hidden_states, position_embeddings, causal_mask, cache_position)
        return self.lm_head(self.norm(hidden_states))


def model():
    c = reference.LlamaConfig
    m = StaticCacheLlama(c)
    for i, layer in enumerate(m.layers):
        layer.__class__ = DecoderLayer
        layer.self_attn = StaticCacheAttention(c, i)
    m.load_state_dict(reference.reference_model(c).state_dict(), strict=False)
    return m.eval(), reference.example_inputs(c)
