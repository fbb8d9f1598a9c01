#!/usr/bin/env python3
"""Writes forward-pass goldens for Slovo's open decoder families with plain PyTorch (Debian python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 tests/golden/make_decoder_golden.py
The reference below is written from the Hugging Face modeling semantics of each family (llama, mistral, qwen2, qwen3,
gemma2, gemma3_text, phi3): rotate-half RoPE with the rope_scaling types linear, dynamic, llama3, yarn and longrope; grouped-query
attention; sliding windows; Gemma's (1 + w) RMSNorm, scaled embeddings, sandwich norms and soft-capping; Phi-3's fused
projections and partial rotary. Each family is one file decoder_<type>.safetensors holding the weights under Hugging
Face's names ("param.*"), the prompt ids ("in.ids", two rows of 8) and the logits ("out.logits"); the config.json text
is the metadata "config".
"""
import json
import math
import os

import torch
import torch.nn.functional as F

from make_golden import save

torch.set_num_threads(1)

FAMILIES = {
    "llama": dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, hidden_act="silu",
                  rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                "original_max_position_embeddings": 16}),
    "mistral": dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    max_position_embeddings=6, rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=3, hidden_act="silu",
                    tie_word_embeddings=False, rope_scaling={"rope_type": "dynamic", "factor": 2.0}),
    "qwen2": dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                  max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True, hidden_act="silu",
                  rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}),
    "qwen3": dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=12,
                  max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True, hidden_act="silu",
                  attention_bias=False, rope_scaling={"rope_type": "linear", "factor": 2.0}),
    "gemma2": dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                   max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0, hidden_activation="gelu_pytorch_tanh",
                   query_pre_attn_scalar=6, sliding_window=3, attn_logit_softcapping=1.5, final_logit_softcapping=2.0,
                   tie_word_embeddings=True),
    "gemma3_text": dict(hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                        max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=1000000.0, rope_local_base_freq=10000.0,
                        hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=16, sliding_window=3, sliding_window_pattern=2,
                        tie_word_embeddings=True, rope_scaling={"rope_type": "linear", "factor": 8.0}),
    "phi3": dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 max_position_embeddings=64, original_max_position_embeddings=6, rms_norm_eps=1e-5, rope_theta=10000.0,
                 partial_rotary_factor=0.5, hidden_act="silu", tie_word_embeddings=False,
                 rope_scaling={"type": "longrope", "short_factor": [1.0, 1.25], "long_factor": [2.5, 7.0]}),
}


def inv_freq(cfg, dim, base, scaling, seq_len):
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    scale = 1.0
    if scaling is None:
        return inv, scale
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "longrope":
        trained = cfg["original_max_position_embeddings"]
        factor = cfg["max_position_embeddings"] / trained
        ext = torch.tensor(scaling["long_factor"] if seq_len > trained else scaling["short_factor"], dtype=torch.float64)
        return inv / ext, math.sqrt(1 + math.log(factor) / math.log(trained))
    factor = scaling["factor"]
    trained = scaling.get("original_max_position_embeddings", cfg["max_position_embeddings"])
    if kind == "linear":
        inv = inv / factor
    elif kind == "dynamic":
        if seq_len > trained:
            base = base * ((factor * seq_len / trained) - (factor - 1)) ** (dim / (dim - 2))
            inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    elif kind == "llama3":
        low, high = trained / scaling["low_freq_factor"], trained / scaling["high_freq_factor"]
        wavelen = 2 * math.pi / inv
        smooth = (trained / wavelen - scaling["low_freq_factor"]) / (scaling["high_freq_factor"] - scaling["low_freq_factor"])
        scaled = torch.where(wavelen > low, inv / factor, inv)
        mid = (wavelen <= low) & (wavelen >= high)
        inv = torch.where(mid, (1 - smooth) * inv / factor + smooth * inv, scaled)
    elif kind == "yarn":
        def correction(rot):
            return (dim * math.log(trained / (rot * 2 * math.pi))) / (2 * math.log(base))
        lo = max(math.floor(correction(scaling.get("beta_fast", 32))), 0)
        hi = min(math.ceil(correction(scaling.get("beta_slow", 1))), dim - 1)
        if lo == hi:
            hi += 0.001
        ramp = ((torch.arange(dim // 2, dtype=torch.float64) - lo) / (hi - lo)).clamp(0, 1)
        extrapolation = 1 - ramp
        inv = inv / factor * (1 - extrapolation) + inv * extrapolation
        scale = scaling.get("attention_factor", 0.1 * math.log(factor) + 1.0)
    return inv, scale


def rotate(x, cos, sin):
    r = cos.shape[-1]
    rot, rest = x[..., :r], x[..., r:]
    a, b = rot[..., : r // 2], rot[..., r // 2:]
    return torch.cat([rot * cos + torch.cat([-b, a], -1) * sin, rest], -1)


def rms(x, w, eps, plus_one):
    normed = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return normed * (1 + w) if plus_one else w * normed


def forward(t, p, ids):
    gemma = t.startswith("gemma")
    c = FAMILIES[t]
    n, heads, kv = c["num_attention_heads"], c["num_attention_heads"], c["num_key_value_heads"]
    d = c.get("head_dim", c["hidden_size"] // heads)
    eps = c["rms_norm_eps"]
    b, length = ids.shape
    x = p["model.embed_tokens.weight"][ids]
    if gemma:
        x = x * torch.tensor(c["hidden_size"] ** 0.5)
    pos = torch.arange(length)
    rot = int(d * c.get("partial_rotary_factor", 1.0)) // 2 * 2

    def table(base, scaling):
        inv, scale = inv_freq(c, rot, base, scaling, length)
        freqs = pos[:, None].double() * inv[None, :]
        emb = torch.cat([freqs, freqs], -1)
        return (emb.cos() * scale).float(), (emb.sin() * scale).float()

    glob = table(c["rope_theta"], c.get("rope_scaling"))
    loc = table(c["rope_local_base_freq"], None) if t == "gemma3_text" else glob
    for i in range(c["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        if t == "gemma2":
            sliding = i % 2 == 0
        elif t == "gemma3_text":
            sliding = (i + 1) % c["sliding_window_pattern"] != 0
        else:
            sliding = c.get("sliding_window") is not None
        h = rms(x, p[pre + "input_layernorm.weight"], eps, gemma)
        if t == "phi3":
            q, k, v = F.linear(h, p[pre + "self_attn.qkv_proj.weight"]).split([heads * d, kv * d, kv * d], -1)
        else:
            def proj(name):
                return F.linear(h, p[pre + f"self_attn.{name}.weight"], p.get(pre + f"self_attn.{name}.bias"))
            q, k, v = proj("q_proj"), proj("k_proj"), proj("v_proj")
        q = q.view(b, length, heads, d).transpose(1, 2)
        k = k.view(b, length, kv, d).transpose(1, 2)
        v = v.view(b, length, kv, d).transpose(1, 2)
        if t in ("qwen3", "gemma3_text"):
            q = rms(q, p[pre + "self_attn.q_norm.weight"], eps, gemma)
            k = rms(k, p[pre + "self_attn.k_norm.weight"], eps, gemma)
        cos, sin = loc if sliding else glob
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        k = k.repeat_interleave(heads // kv, dim=1)
        v = v.repeat_interleave(heads // kv, dim=1)
        scale = c["query_pre_attn_scalar"] ** -0.5 if gemma else d ** -0.5
        scores = q @ k.transpose(-1, -2) * scale
        if c.get("attn_logit_softcapping"):
            cap = c["attn_logit_softcapping"]
            scores = torch.tanh(scores / cap) * cap
        qi, ki = torch.arange(length)[:, None], torch.arange(length)[None, :]
        allowed = ki <= qi
        if sliding and c.get("sliding_window"):
            allowed &= (qi - ki) < c["sliding_window"]
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        y = scores.softmax(-1) @ v
        y = y.transpose(1, 2).reshape(b, length, heads * d)
        a = F.linear(y, p[pre + "self_attn.o_proj.weight"], p.get(pre + "self_attn.o_proj.bias"))
        if gemma:
            a = rms(a, p[pre + "post_attention_layernorm.weight"], eps, True)
            x = x + a
            h = rms(x, p[pre + "pre_feedforward_layernorm.weight"], eps, True)
        else:
            x = x + a
            h = rms(x, p[pre + "post_attention_layernorm.weight"], eps, False)
        if t == "phi3":
            gate, up = F.linear(h, p[pre + "mlp.gate_up_proj.weight"]).chunk(2, -1)
        else:
            gate, up = F.linear(h, p[pre + "mlp.gate_proj.weight"]), F.linear(h, p[pre + "mlp.up_proj.weight"])
        act = F.gelu(gate, approximate="tanh") if gemma else F.silu(gate)
        m = F.linear(act * up, p[pre + "mlp.down_proj.weight"])
        if gemma:
            m = rms(m, p[pre + "post_feedforward_layernorm.weight"], eps, True)
        x = x + m
    x = rms(x, p["model.norm.weight"], eps, gemma)
    head = p["model.embed_tokens.weight"] if c["tie_word_embeddings"] else p["lm_head.weight"]
    logits = F.linear(x, head)
    if c.get("final_logit_softcapping"):
        cap = c["final_logit_softcapping"]
        logits = torch.tanh(logits / cap) * cap
    return logits


def weights(t, vocab):
    c = FAMILIES[t]
    gemma = t.startswith("gemma")
    heads, kv, width, inner = c["num_attention_heads"], c["num_key_value_heads"], c["hidden_size"], c["intermediate_size"]
    d = c.get("head_dim", width // heads)
    p = {"model.embed_tokens.weight": torch.randn(vocab, width) * 0.5, "model.norm.weight": torch.randn(width) * 0.2 + (0 if gemma else 1)}
    if not c["tie_word_embeddings"]:
        p["lm_head.weight"] = torch.randn(vocab, width) * 0.3
    for i in range(c["num_hidden_layers"]):
        pre = f"model.layers.{i}."
        norms = ["input_layernorm", "post_attention_layernorm"] + (["pre_feedforward_layernorm", "post_feedforward_layernorm"] if gemma else [])
        for name in norms:
            p[pre + name + ".weight"] = torch.randn(width) * 0.2 + (0 if gemma else 1)
        if t == "phi3":
            p[pre + "self_attn.qkv_proj.weight"] = torch.randn((heads + 2 * kv) * d, width) * 0.3
            p[pre + "mlp.gate_up_proj.weight"] = torch.randn(2 * inner, width) * 0.3
        else:
            p[pre + "self_attn.q_proj.weight"] = torch.randn(heads * d, width) * 0.3
            p[pre + "self_attn.k_proj.weight"] = torch.randn(kv * d, width) * 0.3
            p[pre + "self_attn.v_proj.weight"] = torch.randn(kv * d, width) * 0.3
            p[pre + "mlp.gate_proj.weight"] = torch.randn(inner, width) * 0.3
            p[pre + "mlp.up_proj.weight"] = torch.randn(inner, width) * 0.3
        p[pre + "self_attn.o_proj.weight"] = torch.randn(width, heads * d) * 0.3
        p[pre + "mlp.down_proj.weight"] = torch.randn(width, inner) * 0.3
        if t == "qwen2":
            for name in ("q_proj", "k_proj", "v_proj"):
                p[pre + f"self_attn.{name}.bias"] = torch.randn(p[pre + f"self_attn.{name}.weight"].shape[0]) * 0.3
        if t in ("qwen3", "gemma3_text"):
            p[pre + "self_attn.q_norm.weight"] = torch.randn(d) * 0.2 + (0 if gemma else 1)
            p[pre + "self_attn.k_norm.weight"] = torch.randn(d) * 0.2 + (0 if gemma else 1)
    return p


def main():
    vocab = 97
    for n, t in enumerate(FAMILIES):
        torch.manual_seed(500 + n)
        p = weights(t, vocab)
        ids = torch.randint(0, vocab, (2, 8))
        with torch.no_grad():
            logits = forward(t, p, ids)
        config = dict(FAMILIES[t], model_type=t, vocab_size=vocab, bos_token_id=1, eos_token_id=2)
        record = {"in.ids": ids, "out.logits": logits}
        record.update({"param." + k: v for k, v in p.items()})
        save("decoder_" + t, record, {"config": json.dumps(config)})


if __name__ == "__main__":
    main()
