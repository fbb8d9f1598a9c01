#!/usr/bin/env python3
"""LoRA goldens: PEFT adapter folders written here in PEFT's layout, and the logits PyTorch computes with them.

For each family below, a tiny model of tests/golden/make_decoder_golden.py, a LoRA adapter on the named projections in PEFT's
file layout (tests/golden/lora_<family>/adapter_config.json and adapter_model.safetensors, keys
base_model.model.<module>.lora_A.weight / lora_B.weight, A of shape (r, in), B of shape (out, r)), and the logits of the
model whose every adapted weight W is used as PEFT's LoRA layer computes it, x W^T + (alpha / r) x A^T B^T
(tests/golden/lora_<family>.safetensors). Run from the repository root: python3 tests/golden/make_lora_golden.py
"""
import json
import os

import torch
import torch.nn.functional as F

from make_decoder_golden import FAMILIES, forward, weights
from make_golden import save

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {
    "llama": dict(r=4, alpha=8, targets=["q_proj", "v_proj"], rslora=False),
    "qwen2": dict(r=3, alpha=12, targets=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], rslora=True),
}


def main():
    vocab = 97
    for n, (t, case) in enumerate(CASES.items()):
        torch.manual_seed(900 + n)
        p = weights(t, vocab)
        ids = torch.randint(0, vocab, (2, 8))
        r, alpha = case["r"], case["alpha"]
        scale = alpha / (r ** 0.5) if case["rslora"] else alpha / r
        adapter = {}
        for key in list(p):
            module = key[: -len(".weight")]
            if not key.endswith(".weight") or module.split(".")[-1] not in case["targets"]:
                continue
            out_f, in_f = p[key].shape
            adapter[f"base_model.model.{module}.lora_A.weight"] = torch.randn(r, in_f) * 0.3
            adapter[f"base_model.model.{module}.lora_B.weight"] = torch.randn(out_f, r) * 0.3
        # The forward of make_decoder_golden reads plain weights; F.linear(x, W + s B A) = x W^T + s (x A^T) B^T is PEFT's
        # LoRA layer, computed in float64 here and rounded once.
        adapted = dict(p)
        for key in p:
            module = key[: -len(".weight")]
            a = adapter.get(f"base_model.model.{module}.lora_A.weight")
            if a is not None:
                b = adapter[f"base_model.model.{module}.lora_B.weight"]
                adapted[key] = (p[key].double() + scale * (b.double() @ a.double())).float()
        with torch.no_grad():
            logits = forward(t, adapted, ids)
        config = dict(FAMILIES[t], model_type=t, vocab_size=vocab, bos_token_id=1, eos_token_id=2)
        record = {"in.ids": ids, "out.logits": logits}
        record.update({"param." + k: v for k, v in p.items()})
        save("lora_" + t, record, {"config": json.dumps(config)})
        folder = os.path.join(HERE, "lora_" + t)
        os.makedirs(folder, exist_ok=True)
        peft = {
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": None, "r": r, "lora_alpha": alpha,
            "lora_dropout": 0.0, "target_modules": case["targets"], "bias": "none", "fan_in_fan_out": False,
            "use_rslora": case["rslora"], "use_dora": False, "modules_to_save": None, "init_lora_weights": True, "inference_mode": True,
        }
        with open(os.path.join(folder, "adapter_config.json"), "w") as f:
            json.dump(peft, f, indent=2)
        save(os.path.join("lora_" + t, "adapter_model"), adapter, {"format": "pt"})


if __name__ == "__main__":
    main()
