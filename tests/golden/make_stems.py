#!/usr/bin/python3
"""Writes porter_nltk.tsv: words and their stems by NLTK's PorterStemmer in its default mode (NLTK_EXTENSIONS), the
stemmer Google's rouge-score uses. The words: the 12,000 most frequent lowercase words of the shipped arXiv abstracts
and IMDb reviews, plus the forms the algorithm's special cases name.

    apt-get install -y python3-nltk && /usr/bin/python3 tests/golden/make_stems.py
"""
import collections
import json
import os
import re

from nltk.stem import porter

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "..", "shared", "data")
counts = collections.Counter()
for entry in json.load(open(os.path.join(shared, "arxiv", "arxivData.json"))):
    counts.update(re.findall(r"[a-z]+", (entry["title"] + " " + entry["summary"]).lower()))
imdb = os.path.join(shared, "imdb", "train")
for label in sorted(os.listdir(imdb)):
    folder = os.path.join(imdb, label)
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder))[:2000]:
            counts.update(re.findall(r"[a-z]+", open(os.path.join(folder, name), encoding="utf-8").read().lower()))
special = ["sky", "skies", "dying", "lying", "tying", "news", "innings", "outings", "cannings", "howe", "proceed", "exceed",
           "succeed", "ties", "dies", "flies", "died", "spied", "agreed", "feed", "hopping", "filing", "failing", "conflated",
           "troubled", "sized", "tanned", "falling", "hissing", "fizzed", "happy", "enjoy", "relational", "conditional",
           "rational", "valenci", "hesitanci", "digitizer", "conformabli", "radicalli", "differentli", "vileli", "analogousli",
           "vietnamization", "predication", "operator", "feudalism", "decisiveness", "hopefulness", "callousness", "formaliti",
           "sensitiviti", "sensibiliti", "geology", "theology", "fully", "triplicate", "formative", "formalize", "electriciti",
           "electrical", "hopeful", "goodness", "revival", "allowance", "inference", "airliner", "gyroscopic", "adjustable",
           "defensible", "irritant", "replacement", "adjustment", "dependent", "adoption", "homologou", "communism",
           "activate", "angulariti", "homologous", "effective", "bowdlerize", "probate", "rate", "cease", "controll", "roll",
           "generalizations", "oscillators", "a", "is", "at", "be", "by", "ed", "ing", "eed", "ies", "oed", "y", "yy"]
words = [w for w, _ in counts.most_common(12000)]
words += [w for w in special if w not in set(words)]
stemmer = porter.PorterStemmer()
with open(os.path.join(here, "porter_nltk.tsv"), "w") as f:
    for w in words:
        f.write(f"{w}\t{stemmer.stem(w)}\n")
print(f"wrote {len(words)} words, NLTK mode {stemmer.mode}")
