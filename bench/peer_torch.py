#!/usr/bin/env python3
"""PyTorch side of bench/Slovo.Bench, run as a persistent peer so rounds can alternate one by one.

Reads commands on stdin, answers each with one line (seconds for the round, or "ok"):
  add_setup                       -> ok        (4x4 float tensors, 1 thread)
  add OPS                         -> seconds for OPS adds
  lstm_setup THREADS              -> ok        (the word-level LSTM LM of bench (b))
  lstm STEPS                      -> seconds per training step, averaged over STEPS
  lstm_phases STEPS               -> seconds per step of each part: embedding + LSTM, output layer, cross-entropy,
                                     backward, Adam (five numbers), averaged over STEPS
  lm_train PATH V EMB HIDDEN BATCH BPTT THREADS
                                  -> "seconds tokens" for one epoch of the language model of Slovo's LmTrainer
                                     (embedding, dropout 0.2, LSTM, dropout, linear; length-bucketed padded batches,
                                     truncated back-propagation, summed NLL / tokens, clip 1.0, Adam 2e-3) over the
                                     id sequences in PATH (one per line)
  cls_train PATH V EMB HIDDEN BATCH THREADS
                                  -> "seconds texts" for one epoch of Slovo's TextClassifier (LSTM, final state):
                                     embedding, dropout 0.3, packed LSTM, dropout, linear; cross-entropy, clip 5, Adam
                                     1e-3; batches of texts sorted by length; PATH holds "label id id ..." lines
  gpt_setup DIR THREADS [DEVICE]  -> ok        (a GPT-2 read from the Hugging Face folder Slovo wrote: config.json and
                                               model.safetensors; the bench's (l) and (m); DEVICE cpu or cuda)
  gpt_train STEPS BATCH CONTEXT [PRECISION]
                                  -> seconds per training step (forward, cross-entropy over every position, backward,
                                     AdamW 3e-4, fused on CUDA) on a random batch, averaged over STEPS; PRECISION fp32
                                     (default), tf32 (CUDA matmuls on TF32 tensor cores) or bf16 (autocast)
  bert_setup DIR THREADS          -> ok        (a BERT encoder read from a Hugging Face folder: config.json, model.safetensors)
  bert_encode IDS BATCH OUT       -> seconds to embed every line of IDS (token ids) in batches of BATCH, mean-pooled and
                                     L2-normalised as sentence-transformers does; the float32 vectors are written to OUT
  gpt_generate N ID,ID,... [ROWS] -> "seconds id id ..." for N greedy tokens after the prompt (repeated in ROWS rows, the
                                     ids of row 0 returned), with a key/value cache
"""
import json
import math
import struct
import sys
import time

import torch

state = {}
FUSED = hasattr(torch.nn.functional, "scaled_dot_product_attention")


def add_setup():
    torch.set_num_threads(1)
    state["a"], state["b"] = torch.ones(4, 4), torch.ones(4, 4)


def add(ops):
    a, b = state["a"], state["b"]
    t = time.perf_counter()
    for _ in range(ops):
        c = a + b
    return time.perf_counter() - t


def lstm_setup(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    vocab, emb, hidden, layers, batch, seq = 14358, 128, 128, 2, 32, 230
    embedding = torch.nn.Embedding(vocab, emb)
    lstm = torch.nn.LSTM(emb, hidden, num_layers=layers, batch_first=True)
    head = torch.nn.Linear(hidden, vocab)
    params = list(embedding.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3, foreach=False)
    x = torch.randint(0, vocab, (batch, seq))
    y = torch.randint(0, vocab, (batch * seq,))

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = lstm(embedding(x))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, vocab), y)
        loss.backward()
        opt.step()

    def phases():
        # The parts bench (b) reports: embedding + LSTM, output layer, loss, backward, Adam (seconds each).
        marks = [time.perf_counter()]
        opt.zero_grad(set_to_none=True)
        out, _ = lstm(embedding(x))
        marks.append(time.perf_counter())
        logits = head(out)
        del out
        marks.append(time.perf_counter())
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), y)
        del logits
        marks.append(time.perf_counter())
        loss.backward()
        marks.append(time.perf_counter())
        opt.step()
        marks.append(time.perf_counter())
        return [b - a for a, b in zip(marks, marks[1:])]

    state["step"] = step
    state["phases"] = phases
    step()  # warm-up


def lstm_phases(steps, warmup="0"):
    for _ in range(int(warmup)):
        state["step"]()
    total = [0.0] * 5
    for _ in range(steps):
        total = [a + b for a, b in zip(total, state["phases"]())]
    return " ".join(repr(t / steps) for t in total)


def lstm(steps, warmup="0"):
    for _ in range(int(warmup)):
        state["step"]()
    t = time.perf_counter()
    for _ in range(steps):
        state["step"]()
    return (time.perf_counter() - t) / steps


def lm_train(path, v, emb, hidden, batch, bptt, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    seqs = [[int(x) for x in line.split()] for line in open(path)]
    seqs.sort(key=len)
    batches = []
    for i in range(0, len(seqs), batch):
        group = seqs[i:i + batch]
        length = max(len(s) for s in group)
        batches.append(torch.tensor([s + [0] * (length - len(s)) for s in group]))
    embedding = torch.nn.Embedding(v, emb, padding_idx=0)
    lstm = torch.nn.LSTM(emb, hidden, batch_first=True)
    head = torch.nn.Linear(hidden, v)
    drop = torch.nn.Dropout(0.2)
    params = list(embedding.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=2e-3, foreach=False)
    t = time.perf_counter()
    tokens = 0
    for ids in batches:
        state = None
        for start in range(0, ids.shape[1] - 1, bptt):
            w = min(bptt, ids.shape[1] - 1 - start)
            x, y = ids[:, start:start + w], ids[:, start + 1:start + 1 + w]
            count = int((y != 0).sum())
            opt.zero_grad(set_to_none=True)
            out, state = lstm(drop(embedding(x)), state)
            logits = head(drop(out))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, v), y.reshape(-1), ignore_index=0, reduction="sum")
            loss.item()
            (loss / count).backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            tokens += count
            state = tuple(s.detach() for s in state)
    return time.perf_counter() - t, tokens


def cls_train(path, v, emb, hidden, batch, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rows = [[int(x) for x in line.split()] for line in open(path)]
    rows.sort(key=len)
    embedding = torch.nn.Embedding(v, emb, padding_idx=0)
    lstm = torch.nn.LSTM(emb, hidden, batch_first=True)
    head = torch.nn.Linear(hidden, 2)
    drop = torch.nn.Dropout(0.3)
    params = list(embedding.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3, foreach=False)
    t = time.perf_counter()
    for i in range(0, len(rows), batch):
        group = rows[i:i + batch]
        length = max(len(r) - 1 for r in group)
        ids = torch.tensor([r[1:] + [0] * (length - len(r) + 1) for r in group])
        lengths = torch.tensor([len(r) - 1 for r in group])
        y = torch.tensor([r[0] for r in group])
        opt.zero_grad(set_to_none=True)
        packed = torch.nn.utils.rnn.pack_padded_sequence(drop(embedding(ids)), lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = lstm(packed)
        loss = torch.nn.functional.cross_entropy(head(drop(h[-1])), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        loss.item()
    return time.perf_counter() - t, len(rows)


class GptBlock(torch.nn.Module):
    """GPT-2's pre-LayerNorm block with a key/value cache, in plain PyTorch (Conv1D weights as nn.Linear)."""

    def __init__(self, d, heads, eps, pdrop):
        super().__init__()
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(d, eps=eps), torch.nn.LayerNorm(d, eps=eps)
        self.c_attn, self.attn_proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.c_fc, self.mlp_proj = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)
        self.heads, self.drop = heads, torch.nn.Dropout(pdrop)

    def forward(self, x, past=None):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        if FUSED:   # torch 2.x: one operator (flash kernels on CUDA), as Slovo uses where it exists
            causal = past is None
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=self.drop.p if self.training else 0.0, is_causal=causal and t > 1)
        else:
            scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)
            allowed = torch.ones(t, k.shape[2], dtype=torch.bool, device=x.device).tril(k.shape[2] - t)
            y = self.drop(scores.masked_fill(~allowed, torch.finfo(scores.dtype).min).softmax(-1)) @ v
        x = x + self.drop(self.attn_proj(y.transpose(1, 2).reshape(b, t, d)))
        x = x + self.drop(self.mlp_proj(torch.nn.functional.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")))
        return x, (k, v)


class Gpt(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["n_embd"]
        self.wte, self.wpe = torch.nn.Embedding(cfg["vocab_size"], d), torch.nn.Embedding(cfg["n_positions"], d)
        self.h = torch.nn.ModuleList([GptBlock(d, cfg["n_head"], cfg["layer_norm_epsilon"], cfg["resid_pdrop"]) for _ in range(cfg["n_layer"])])
        self.ln_f = torch.nn.LayerNorm(d, eps=cfg["layer_norm_epsilon"])
        self.drop = torch.nn.Dropout(cfg["embd_pdrop"])

    def forward(self, ids, cache=None):
        start = 0 if cache is None else cache[0][0].shape[2]
        x = self.drop(self.wte(ids) + self.wpe(torch.arange(start, start + ids.shape[1], device=ids.device)))
        present = []
        for i, block in enumerate(self.h):
            x, kv = block(x, None if cache is None else cache[i])
            present.append(kv)
        return self.ln_f(x) @ self.wte.weight.T, present


def gpt_setup(folder, threads, device="cpu"):
    torch.set_num_threads(threads)
    state["device"] = torch.device(device)
    cfg = json.load(open(f"{folder}/config.json"))
    with open(f"{folder}/model.safetensors", "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    names = {"attn.c_attn": "c_attn", "attn.c_proj": "attn_proj", "mlp.c_fc": "c_fc", "mlp.c_proj": "mlp_proj"}
    weights = {}
    for key, v in header.items():
        if key == "__metadata__":
            continue
        t = torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]), dtype=torch.float32).reshape(v["shape"])
        name = key[len("transformer."):]
        for hf, ours in names.items():
            if f".{hf}." in name:
                name = name.replace(hf, ours)
                if name.endswith("weight"):
                    t = t.T.contiguous()          # Conv1D (in, out) -> Linear (out, in)
        weights[name] = t
    model = Gpt(cfg)
    model.load_state_dict(weights)
    state["gpt"], state["vocab"] = model.to(state["device"]), cfg["vocab_size"]


def gpt_train(steps, batch, context, precision="fp32"):
    model, v, device = state["gpt"], state["vocab"], state["device"]
    model.train()
    if "gpt_opt" not in state:
        fused = {"fused": True} if device.type == "cuda" and torch.__version__ >= "2" else {}
        state["gpt_opt"] = torch.optim.AdamW(model.parameters(), lr=3e-4, **fused)
    opt = state["gpt_opt"]
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    x, y = torch.randint(0, v, (batch, context), device=device), torch.randint(0, v, (batch * context,), device=device)
    t = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits, _ = model(x)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, v), y)
        loss.backward()
        opt.step()
        loss.item()
    return (time.perf_counter() - t) / steps


def gpt_generate(n, prompt, rows=1):
    model, device = state["gpt"], state.get("device", torch.device("cpu"))
    model.eval()
    out = []
    t = time.perf_counter()
    with torch.no_grad():
        logits, cache = model(torch.tensor([prompt] * rows, device=device))
        for i in range(n):
            tokens = logits[:, -1].argmax(-1)     # (rows)
            out.append(int(tokens[0]))            # read back every step, as a sampler does
            if i + 1 < n:                         # as Slovo's generator: no pass after the last token
                logits, cache = model(tokens.view(rows, 1), cache)
    return time.perf_counter() - t, out


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]), dtype=torch.float32).reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


class Bert(torch.nn.Module):
    """BERT's encoder in plain PyTorch (post-LayerNorm layers, exact GELU), weights by Hugging Face BertModel's names."""

    def __init__(self, cfg, w):
        super().__init__()
        self.cfg, self.w = cfg, w

    def forward(self, ids, mask):
        w, c = self.w, self.cfg
        b, t = ids.shape
        d, h = c["hidden_size"], c["num_attention_heads"]
        eps = c["layer_norm_eps"]
        ln = lambda x, p: torch.nn.functional.layer_norm(x, (d,), w[p + ".weight"], w[p + ".bias"], eps)
        lin = lambda x, p: torch.nn.functional.linear(x, w[p + ".weight"], w[p + ".bias"])
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t] + w["embeddings.token_type_embeddings.weight"][0]
        x = ln(x, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for i in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q, k, v = (lin(x, p + "attention.self." + n).view(b, t, h, d // h).transpose(1, 2) for n in ("query", "key", "value"))
            a = ((q @ k.transpose(-1, -2)) / math.sqrt(d // h) + bias).softmax(-1) @ v
            x = ln(lin(a.transpose(1, 2).reshape(b, t, d), p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            x = ln(lin(torch.nn.functional.gelu(lin(x, p + "intermediate.dense")), p + "output.dense") + x, p + "output.LayerNorm")
        return x


def bert_setup(folder, threads):
    torch.set_num_threads(threads)
    state["bert"] = Bert(json.load(open(f"{folder}/config.json")), read_safetensors(f"{folder}/model.safetensors"))


def bert_encode(path, batch, out):
    rows = [[int(i) for i in line.split()] for line in open(path)]
    model, vectors = state["bert"], []
    t0 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, len(rows), batch):
            group = rows[s:s + batch]
            t = max(len(r) for r in group)
            ids = torch.tensor([r + [0] * (t - len(r)) for r in group])
            mask = torch.tensor([[1] * len(r) + [0] * (t - len(r)) for r in group])
            hidden = model(ids, mask)
            m = mask[:, :, None].float()
            vectors.append(torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=1))
    seconds = time.perf_counter() - t0
    torch.cat(vectors).numpy().astype("float32").tofile(out)
    return seconds


for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "add_setup":
        add_setup()
        print("ok", flush=True)
    elif cmd == "add":
        print(add(int(args[0])), flush=True)
    elif cmd == "lstm_setup":
        lstm_setup(int(args[0]))
        print("ok", flush=True)
    elif cmd == "lstm":
        print(lstm(int(args[0]), *args[1:]), flush=True)
    elif cmd == "lstm_phases":
        print(lstm_phases(int(args[0]), *args[1:]), flush=True)
    elif cmd == "lm_train":
        seconds, tokens = lm_train(args[0], *(int(a) for a in args[1:]))
        print(f"{seconds} {tokens}", flush=True)
    elif cmd == "cls_train":
        seconds, texts = cls_train(args[0], *(int(a) for a in args[1:]))
        print(f"{seconds} {texts}", flush=True)
    elif cmd == "bert_setup":
        bert_setup(args[0], int(args[1]))
        print("ok", flush=True)
    elif cmd == "bert_encode":
        print(bert_encode(args[0], int(args[1]), args[2]), flush=True)
    elif cmd == "gpt_setup":
        gpt_setup(args[0], int(args[1]), *args[2:])
        print("ok", flush=True)
    elif cmd == "gpt_train":
        print(gpt_train(*(int(a) for a in args[:3]), *args[3:]), flush=True)
    elif cmd == "gpt_generate":
        seconds, ids = gpt_generate(int(args[0]), [int(i) for i in args[1].split(",")], *(int(a) for a in args[2:]))
        print(f"{seconds} {' '.join(map(str, ids))}", flush=True)
    else:
        print(f"error unknown command {cmd}", flush=True)
