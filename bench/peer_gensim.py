#!/usr/bin/env python3
"""gensim side of bench/Slovo.Bench's word2vec load benchmark: loads PATH (word2vec binary) and prints the seconds
the load took and the number of vectors.  usage: peer_gensim.py PATH"""
import sys
import time

from gensim.models import KeyedVectors

t = time.perf_counter()
kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=True)
print(f"{time.perf_counter() - t} {len(kv.index_to_key)}")
