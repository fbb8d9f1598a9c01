#!/usr/bin/env python3
"""Median time of a char-LSTM training step in PyTorch, to show the effect of OpenBLAS threads.

usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/blas_threads.py   (compare with the variable unset)
Model: embedding 64, LSTM hidden 256 x 2 layers, vocabulary 150, batch 32 x 128 characters, Adam, 2 threads.
"""
import os
import time

import torch

torch.set_num_threads(2)
torch.manual_seed(0)
V = 150
emb = torch.nn.Embedding(V, 64)
lstm = torch.nn.LSTM(64, 256, 2, batch_first=True, dropout=0.1)
head = torch.nn.Linear(256, V)
params = list(emb.parameters()) + list(lstm.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=2e-3)
x = torch.randint(0, V, (32, 128))
y = torch.randint(0, V, (32 * 128,))
times = []
for _ in range(5):
    t = time.perf_counter()
    opt.zero_grad()
    out, _ = lstm(emb(x))
    loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    times.append((time.perf_counter() - t) * 1000)
print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}: median {sorted(times)[2]:.0f} ms/step")
