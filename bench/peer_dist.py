#!/usr/bin/env python3
"""torch.distributed side of bench (p): one rank of a 2-process Gloo group, driven over stdin by bench/Slovo.Bench.

usage: peer_dist.py RANK WORLD PORT MEGABYTES
Joins the group at 127.0.0.1:PORT, allocates a float32 tensor of MEGABYTES MB (ones), prints "ready", then for each
"go" line on stdin: barrier, one all-reduce (sum) of the tensor, timed; prints the seconds. "quit" ends it.
"""
import sys
import time

import torch
import torch.distributed as dist


def main():
    rank, world, port, megabytes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    x = torch.ones(int(megabytes * 1e6 / 4), dtype=torch.float32)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        dist.barrier()
        t = time.perf_counter()
        dist.all_reduce(x)
        print(time.perf_counter() - t, flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
