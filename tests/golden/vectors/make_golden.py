#!/usr/bin/env python3
"""Golden files for Slovo's KeyedVectors, made with gensim (Debian python3-gensim 4.2).

Run from the repository root:  /usr/bin/python3 tests/golden/vectors/make_golden.py
- glove100_queries.json: gensim's answers to the course's queries on ../shared/data/glove/glove.6B.100d.top50k.txt
- gensim-small.bin / gensim-small.txt: the first 300 of those vectors written by gensim (Slovo must read them)
- slovo_read_by_gensim.json: what gensim reads from slovo-small.bin and slovo-small.txt, which Slovo's tests write
  (SLOVO_WRITE_GOLDEN=1); run this script after them.
"""
import json
import os

import numpy as np
from gensim.models import KeyedVectors

HERE = os.path.dirname(os.path.abspath(__file__))
GLOVE = os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "glove", "glove.6B.100d.top50k.txt")

kv = KeyedVectors.load_word2vec_format(GLOVE, binary=False, no_header=True)
queries = {
    "king_man_woman": kv.most_similar(positive=["king", "woman"], negative=["man"], topn=10),
    "computer": kv.most_similar("computer", topn=10),
    "paris_france_italy": kv.most_similar(positive=["paris", "italy"], negative=["france"], topn=5),
    "doesnt_match": kv.doesnt_match(["breakfast", "cereal", "dinner", "lunch"]),
    "music_given": kv.most_similar_to_given("music", ["water", "sound", "backpack", "mouse"]),
    "similarity_woman_man": float(kv.similarity("woman", "man")),
    "n_similarity": float(kv.n_similarity(["king", "queen"], ["man", "woman"])),
    "rank_king_queen": int(kv.rank("king", "queen")),
}
with open(os.path.join(HERE, "glove100_queries.json"), "w") as f:
    json.dump(queries, f, indent=1)

small = KeyedVectors(vector_size=kv.vector_size)
small.add_vectors(kv.index_to_key[:300], kv.vectors[:300])
small.save_word2vec_format(os.path.join(HERE, "gensim-small.bin"), binary=True)
small.save_word2vec_format(os.path.join(HERE, "gensim-small.txt"), binary=False)

read = {}
for name, binary in (("slovo-small.bin", True), ("slovo-small.txt", False)):
    path = os.path.join(HERE, name)
    if os.path.exists(path):
        s = KeyedVectors.load_word2vec_format(path, binary=binary)
        read[name] = {"count": len(s.index_to_key), "dim": s.vector_size, "words": s.index_to_key,
                      "sum": float(np.sum(s.vectors.astype(np.float64))), "first": [float(x) for x in s.vectors[0]]}
with open(os.path.join(HERE, "slovo_read_by_gensim.json"), "w") as f:
    json.dump(read, f)
print("wrote glove100_queries.json, gensim-small.{bin,txt}, slovo_read_by_gensim.json for", sorted(read))
