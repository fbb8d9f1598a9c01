#!/usr/bin/env python3
"""Writes the golden files that Slovo.Torch's tests compare against, using PyTorch (Debian python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 tests/golden/make_golden.py
Each case is one safetensors file: inputs ("in.*"), module parameters ("param.*", PyTorch names), the upstream
gradient ("gout"), outputs ("out.*") and gradients ("grad.in.*", "grad.param.*").
"""
import json
import math
import os
import struct
import subprocess

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.dirname(os.path.abspath(__file__))
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL", torch.uint8: "U8"}


def save(name, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for key in sorted(tensors):
        t = tensors[key].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[key] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def module_case(name, module, inputs, forward, metadata=None):
    """Runs forward, then backward of sum(out * gout) for every output; records everything."""
    record = {}
    for k, v in inputs.items():
        record["in." + k] = v
    for k, p in module.named_parameters():
        record["param." + k] = p.detach().clone()
    outs = forward(module, inputs)
    total = 0
    for k, o in outs.items():
        g = torch.randn_like(o)
        record["gout." + k] = g
        record["out." + k] = o
        total = total + (o * g).sum()
    total.backward()
    for k, v in inputs.items():
        if v.requires_grad:
            record["grad.in." + k] = v.grad
    for k, p in module.named_parameters():
        if p.grad is not None:
            record["grad.param." + k] = p.grad
    save(name, record, metadata)


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float32).requires_grad_()


def main():
    torch.manual_seed(1234)
    torch.set_num_threads(1)

    module_case("linear", nn.Linear(5, 3), {"x": rand(4, 5)}, lambda m, i: {"y": m(i["x"])})

    emb = nn.Embedding(10, 6, padding_idx=0)
    idx = torch.tensor([[1, 2, 0, 4], [9, 0, 0, 3], [5, 5, 7, 8]])
    module_case("embedding", emb, {"idx": idx}, lambda m, i: {"y": m(i["idx"])})

    for mode in ("sum", "mean", "max"):
        bag = nn.EmbeddingBag(10, 4, mode=mode)
        flat = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])
        offsets = torch.tensor([0, 2, 5])
        module_case("embedding_bag_" + mode, bag, {"idx": flat, "offsets": offsets},
                    lambda m, i: {"y": m(i["idx"], i["offsets"])})

    ln = nn.LayerNorm(8)
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    module_case("layer_norm", ln, {"x": rand(2, 3, 8)}, lambda m, i: {"y": m(i["x"])})

    conv = nn.Conv1d(4, 6, 3, padding=1)
    module_case("conv1d", conv, {"x": rand(2, 4, 10)}, lambda m, i: {
        "y": m(i["x"]),
        "maxpool": F.max_pool1d(m(i["x"]), 2),
        "avgpool": F.avg_pool1d(m(i["x"]), 2),
        "adaptivemax": F.adaptive_max_pool1d(m(i["x"]), 1),
    })

    lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True)
    module_case("lstm_bi2", lstm, {"x": rand(3, 5, 4), "h0": rand(4, 3, 6), "c0": rand(4, 3, 6)},
                lambda m, i: dict(zip(("y", "h", "c"), flatten(m(i["x"], (i["h0"], i["c0"]))))))

    gru = nn.GRU(4, 5)
    module_case("gru", gru, {"x": rand(6, 2, 4)}, lambda m, i: dict(zip(("y", "h"), m(i["x"]))))

    rnn = nn.RNN(4, 5, num_layers=2)
    module_case("rnn_tanh2", rnn, {"x": rand(6, 2, 4)}, lambda m, i: dict(zip(("y", "h"), m(i["x"]))))

    packed_lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    lengths = torch.tensor([2, 5, 3])

    def run_packed(m, i):
        packed = nn.utils.rnn.pack_padded_sequence(i["x"], i["lengths"], batch_first=True, enforce_sorted=False)
        out, (h, c) = m(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=5)
        return {"y": y, "h": h, "c": c}

    module_case("lstm_packed", packed_lstm, {"x": rand(3, 5, 3), "lengths": lengths}, run_packed)

    losses()
    nt_xent()
    optimizers()
    schedulers()
    text_cnn()
    transformer()
    gpt2_tiny()


class TextCnn(nn.Module):
    """The CNN of Slovo's TextClassifier: embedding, Conv1d per kernel width, ReLU, max over time, linear head."""

    def __init__(self, vocab, emb, filters, widths, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb, padding_idx=0)
        for i, w in enumerate(widths):
            setattr(self, f"conv{i}", nn.Conv1d(emb, filters, w))
        self.widths = widths
        self.head = nn.Linear(filters * len(widths), classes)

    def forward(self, ids):
        x = self.embedding(ids).transpose(1, 2)                                  # (B, E, T)
        pooled = [F.relu(getattr(self, f"conv{i}")(x)).max(2).values for i in range(len(self.widths))]
        return self.head(torch.cat(pooled, 1))                                   # (B, C)


def text_cnn():
    torch.manual_seed(77)
    model = TextCnn(vocab=13, emb=6, filters=4, widths=[2, 3, 4], classes=2)
    ids = torch.tensor([[3, 5, 7, 2, 0, 0], [1, 12, 4, 4, 9, 6], [11, 2, 8, 0, 0, 0]])
    module_case("text_cnn", model, {"ids": ids}, lambda m, i: {"logits": m(i["ids"])})


class Gpt2Attention(nn.Module):
    """GPT-2's causal self-attention, written out (HF's Conv1D layers as nn.Linear): reference for Slovo's."""

    def __init__(self, d, heads):
        super().__init__()
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.heads = heads

    def forward(self, x, keep=None):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))    # (B, H, T, D)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)                     # (B, H, T, T)
        allowed = torch.ones(t, t, dtype=torch.bool).tril()
        if keep is not None:
            allowed = allowed & keep[:, None, None, :]                           # (B, 1, T, T)
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        y = scores.softmax(-1) @ v                                               # (B, H, T, D)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, d))


class Gpt2Mlp(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.c_fc = nn.Linear(d, 4 * d)
        self.c_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Gpt2Block(nn.Module):
    """A pre-LayerNorm transformer block as GPT-2 has it: x + attn(ln_1(x)), then + mlp(ln_2(.))."""

    def __init__(self, d, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.attn = Gpt2Attention(d, heads)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.mlp = Gpt2Mlp(d)

    def forward(self, x, keep=None):
        x = x + self.attn(self.ln_1(x), keep)
        return x + self.mlp(self.ln_2(x))


def transformer():
    torch.manual_seed(4321)
    x = rand(3, 7)
    save("gelu", {"in.x": x, "out.exact": F.gelu(x), "out.tanh": F.gelu(x, approximate="tanh"),
                  "grad.exact": torch.autograd.grad(F.gelu(x).sum(), x)[0],
                  "grad.tanh": torch.autograd.grad(F.gelu(x, approximate="tanh").sum(), x)[0]})
    # Attention and a block over a padded batch: the second sequence's last two positions are padding.
    keep = torch.tensor([[True] * 5, [True, True, True, False, False]])
    attn = Gpt2Attention(8, 2)
    module_case("gpt2_attention", attn, {"x": rand(2, 5, 8), "keep": keep}, lambda m, i: {"y": m(i["x"], i["keep"])})
    block = Gpt2Block(8, 2)
    with torch.no_grad():
        for ln in (block.ln_1, block.ln_2):
            ln.weight.normal_()
            ln.bias.normal_()
    module_case("gpt2_block", block, {"x": rand(2, 5, 8), "keep": keep}, lambda m, i: {"y": m(i["x"], i["keep"])})


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    kinds = {"F32": torch.float32, "I64": torch.int64}
    return {k: torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]), dtype=kinds[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


class Gpt2(nn.Module):
    """GPT-2 written out in PyTorch: the reference Slovo's GptModel is checked against (no transformers package here)."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["n_embd"]
        self.wte = nn.Embedding(cfg["vocab_size"], d)
        self.wpe = nn.Embedding(cfg["n_positions"], d)
        self.h = nn.ModuleList([Gpt2Block(d, cfg["n_head"]) for _ in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(d, eps=cfg["layer_norm_epsilon"])

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T                                   # tied output layer


def gpt2_tiny():
    """The shipped tiny-random-gpt2 (../shared/models): logits and gradients of the reference on its own weights."""
    folder = os.environ.get("SLOVO_SHARED", os.path.join(OUT, "..", "..", "..", "shared"))
    folder = os.path.join(folder, "models", "tiny-random-gpt2")
    cfg = json.load(open(os.path.join(folder, "config.json")))
    model = Gpt2(cfg)
    conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    state = {k[len("transformer."):]: (v.T if k.endswith(conv1d) else v) for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
    model.load_state_dict(state)
    torch.manual_seed(99)
    ids = torch.randint(0, cfg["vocab_size"], (2, 6))
    logits = model(ids)
    gout = torch.randn_like(logits)
    (logits * gout).sum().backward()
    watched = ("wte.weight", "wpe.weight", "h.0.attn.c_attn.weight", "h.4.mlp.c_proj.weight", "ln_f.weight")
    record = {"in.ids": ids, "out.logits": logits, "gout.logits": gout}
    record.update({"grad.param." + k: p.grad for k, p in model.named_parameters() if k in watched})
    # "hello" encoded by the folder's tokenizer.json with Hugging Face tokenizers (npm, installed by `npm ci` in
    # bench/peers; no special tokens, as HF encodes it), then 20 greedy tokens, each from a full pass over all before it.
    peers = os.path.join(OUT, "..", "..", "bench", "peers")
    script = ('const { Tokenizer } = require("tokenizers"); Tokenizer.fromFile(process.argv[1]).encode("hello", null, '
              '{ addSpecialTokens: false }).then(e => console.log(JSON.stringify(e.getIds())));')
    prompt = json.loads(subprocess.run(["node", "-e", script, os.path.join(folder, "tokenizer.json")], cwd=peers,
                                       capture_output=True, text=True, check=True).stdout)
    text = list(prompt)
    with torch.no_grad():
        for _ in range(20):
            text.append(int(model(torch.tensor([text]))[0, -1].argmax()))
    record["hello.prompt"] = torch.tensor(prompt)
    record["hello.greedy"] = torch.tensor(text[len(prompt):])
    save("gpt2_tiny", record)


def flatten(result):
    out, (h, c) = result
    return out, h, c


def losses():
    logits = rand(6, 5)
    target = torch.tensor([0, 4, -100, 2, 2, 1])
    ce = F.cross_entropy(logits, target, ignore_index=-100, label_smoothing=0.1)
    ce.backward()
    seq_logits = rand(2, 5, 3)  # (N, C, d)
    seq_target = torch.tensor([[0, 1, 4], [3, 3, 0]])
    ce2 = F.cross_entropy(seq_logits, seq_target, ignore_index=0)
    ce2.backward()
    a, b = rand(4, 3), torch.randn(4, 3)
    mse = F.mse_loss(a, b)
    mse.backward()
    z, t = rand(5), torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    bce = F.binary_cross_entropy_with_logits(z, t)
    bce.backward()
    u, v, s = rand(4, 6), rand(4, 6), torch.tensor([1.0, -1.0, 1.0, -1.0])
    cos = F.cosine_embedding_loss(u, v, s, margin=0.1)
    cos.backward()
    save("losses", {
        "ce.logits": logits, "ce.target": target, "ce.loss": ce, "ce.grad": logits.grad,
        "ce2.logits": seq_logits, "ce2.target": seq_target, "ce2.loss": ce2, "ce2.grad": seq_logits.grad,
        "mse.a": a, "mse.b": b, "mse.loss": mse, "mse.grad": a.grad,
        "bce.z": z, "bce.t": t, "bce.loss": bce, "bce.grad": z.grad,
        "cos.u": u, "cos.v": v, "cos.s": s, "cos.loss": cos, "cos.grad_u": u.grad, "cos.grad_v": v.grad,
    })


def nt_xent():
    """NT-Xent with in-batch negatives in both directions, as the course wrote it for the DSSM model."""
    torch.manual_seed(77)
    q = rand(6, 8)
    d = rand(6, 8)
    alpha = 0.1
    qn, dn = F.normalize(q, dim=1), F.normalize(d, dim=1)
    logits = qn @ dn.t() / alpha
    target = torch.arange(6)
    loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2
    loss.backward()
    save("nt_xent", {"q": q, "d": d, "loss": loss, "grad_q": q.grad, "grad_d": d.grad}, {"temperature": alpha})


def optimizers():
    torch.manual_seed(99)
    x = torch.randn(16, 6)
    y = torch.randn(16, 1)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    configs = {
        "adam": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01, foreach=False),
        "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, foreach=False),
        "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01, foreach=False),
        "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, foreach=False),
        # Two groups, as transformers are trained: weights decay, biases do not.
        "adamw_groups": lambda p: torch.optim.AdamW([
            {"params": [q for n, q in model.named_parameters() if n.endswith("weight")], "weight_decay": 0.1},
            {"params": [q for n, q in model.named_parameters() if n.endswith("bias")], "weight_decay": 0.0}], lr=0.01, foreach=False),
    }
    for name, make in configs.items():
        model.load_state_dict(init)
        opt = make(model.parameters())
        trajectory = []
        for _ in range(10):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            trajectory.append(loss.item())
        record = {"x": x, "y": y, "losses": torch.tensor(trajectory, dtype=torch.float64)}
        record.update({"init." + k: v for k, v in init.items()})
        record.update({"final." + k: v.detach().clone() for k, v in model.state_dict().items()})
        save("optim_" + name, record)


def schedulers():
    def run(make):
        p = [torch.zeros(1, requires_grad=True)]
        opt = torch.optim.SGD(p, lr=0.1)
        sched = make(opt)
        rates = [opt.param_groups[0]["lr"]]
        for _ in range(12):
            opt.step()
            sched.step()
            rates.append(opt.param_groups[0]["lr"])
        return torch.tensor(rates, dtype=torch.float64)

    warm, total = 3, 10
    save("schedulers", {
        "step": run(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
        "cosine": run(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=0.01)),
        "warmup": run(lambda o: torch.optim.lr_scheduler.LambdaLR(
            o, lambda s: s / warm if s < warm else max(0.0, (total - s) / (total - warm)))),
        # Warm-up then cosine to a floor of 0.01 (from 0.1), as Slovo's WarmupCosineLR.
        "warmup_cosine": run(lambda o: torch.optim.lr_scheduler.LambdaLR(
            o, lambda s: s / warm if s < warm else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / (total - warm)))))),
    })


if __name__ == "__main__":
    main()
