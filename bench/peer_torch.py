#!/usr/bin/env python3
"""PyTorch side of bench/Slovo.Bench, run as a persistent peer so rounds can alternate one by one.

Reads commands on stdin, answers each with one line (seconds for the round, or "ok"):
  add_setup                       -> ok        (4x4 float tensors, 1 thread)
  add OPS                         -> seconds for OPS adds
  lstm_setup THREADS              -> ok        (the word-level LSTM LM of bench (b))
  lstm STEPS                      -> seconds per training step, averaged over STEPS
  lm_train PATH V EMB HIDDEN BATCH BPTT THREADS
                                  -> "seconds tokens" for one epoch of the language model of Slovo's LmTrainer
                                     (embedding, dropout 0.2, LSTM, dropout, linear; length-bucketed padded batches,
                                     truncated back-propagation, summed NLL / tokens, clip 1.0, Adam 2e-3) over the
                                     id sequences in PATH (one per line)
  cls_train PATH V EMB HIDDEN BATCH THREADS
                                  -> "seconds texts" for one epoch of Slovo's TextClassifier (LSTM, final state):
                                     embedding, dropout 0.3, packed LSTM, dropout, linear; cross-entropy, clip 5, Adam
                                     1e-3; batches of texts sorted by length; PATH holds "label id id ..." lines
"""
import sys
import time

import torch

state = {}


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

    state["step"] = step
    step()  # warm-up


def lstm(steps):
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
        print(lstm(int(args[0])), flush=True)
    elif cmd == "lm_train":
        seconds, tokens = lm_train(args[0], *(int(a) for a in args[1:]))
        print(f"{seconds} {tokens}", flush=True)
    elif cmd == "cls_train":
        seconds, texts = cls_train(args[0], *(int(a) for a in args[1:]))
        print(f"{seconds} {texts}", flush=True)
    else:
        print(f"error unknown command {cmd}", flush=True)
