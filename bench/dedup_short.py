"""Short-text near-duplicates for bench/dedup.py: two editions of the same short text.

The same short text in two editions differs the way printed poems and reposted titles do: one in
traditional script (OpenCC s2t), its punctuation changed (ASCII, full stops dropped, spaces), and
a few variant characters (0-3 substitutions, insertions or deletions, plus a small per-character
rate for the longer texts). Bases are runs of consecutive real sentences (cmrc2018 paragraphs in
../shared/data, else the sample generator's sentences), 8 to 1,000 characters, log-uniform.

True Jaccard is on character 3-grams of the normalized key (the issue's measure for short texts);
recall at true J >= 0.8 and the reported pairs below true J 0.5 are counted per length bucket, for
the plain 5-gram and 3-gram configs and for the default length rule, all in memory through
``find_duplicates`` (the stages' code: same signatures, buckets, verification and clusters).

    .venv/bin/python bench/dedup_short.py            # on its own; bench/dedup.py runs it too
"""

from __future__ import annotations

import argparse
import math
import random
import re
from collections import defaultdict

BUCKETS = [8, 30, 60, 100, 150, 250, 500, 1001]  # key length bucket edges, characters


def short_corpus(n_pairs: int, seed: int) -> tuple[list[str], list[tuple[int, int]]]:
    """Texts (bases, then their second editions) and the planted pairs ``(base, edition)``."""
    import opencc
    from dedup_corpus import char_edit, sentences  # this folder is on sys.path when run as a script

    s2t, rng = opencc.OpenCC("s2t"), random.Random(seed)
    bank = sentences()
    alphabet = "".join(sorted({c for s in bank[:3000] for c in s if "\u4e00" <= c <= "\u9fff"}))
    bases = []
    for _ in range(n_pairs):
        target, start = math.exp(rng.uniform(math.log(8), math.log(1000))), rng.randrange(len(bank))
        parts = [bank[start]]
        while sum(map(len, parts)) < target:
            parts.append(bank[(start + len(parts)) % len(bank)])
        text = "".join(parts)
        cut = max(8, int(target))  # trim to the target length at a character boundary
        bases.append(text[:cut] if len(text) > cut * 1.3 else text)
    editions = []
    for base in bases:
        text = s2t.convert(base) if rng.random() < 0.7 else base
        style = rng.choice(["ascii", "drop", "spaces", "same"])
        if style == "ascii":
            text = text.replace("，", ", ").replace("。", ". ").replace("：", ":")
        elif style == "drop":
            text = re.sub(r"[，。；、]", " ", text)
        elif style == "spaces":
            text = " ".join(text)
        for _ in range(rng.choice([0, 1, 1, 2, 3])):  # variant characters
            i = rng.randrange(len(text))
            text = text[:i] + rng.choice(alphabet) + text[i + rng.choice([0, 1, 1]) :]
        editions.append(char_edit(rng, text, rng.choice([0.0, 0.0, 0.005, 0.01, 0.02]), alphabet))
    return bases + editions, [(i, n_pairs + i) for i in range(n_pairs)]


def three_gram_jaccard(a: str, b: str) -> float:
    from jinglian.corpus.dedup.shingles import jaccard, shingle_set

    return jaccard(shingle_set(a, 3), shingle_set(b, 3))


def bucket_of(length: int) -> int:
    return next((i for i, edge in enumerate(BUCKETS[1:]) if length < edge), len(BUCKETS) - 2)


def evaluate_short(n_pairs: int = 3000, seed: int = 0) -> list[str]:
    """Markdown lines: recall at 3-gram J >= 0.8 and pairs below J 0.5, per length bucket and config."""
    from jinglian.corpus.dedup.api import find_duplicates
    from jinglian.corpus.dedup.clusters import UnionFind
    from jinglian.corpus.dedup.minhash import DedupConfig
    from jinglian.corpus.dedup.shingles import dedup_key

    texts, planted = short_corpus(n_pairs, seed)
    true_j = [three_gram_jaccard(texts[a], texts[b]) for a, b in planted]
    length = [len(dedup_key(texts[a])) for a, _ in planted]
    configs = {
        "5-grams": DedupConfig(short_below=0),
        "3-grams": DedupConfig(ngram=3, short_below=0),
        "3- and 5-grams (default)": DedupConfig(),
    }
    lines = [
        f"short texts: {n_pairs} texts and a second edition of each (s2t, punctuation, variant "
        f"characters); {sum(j >= 0.8 for j in true_j)} pairs with true J >= 0.8 (character 3-grams)",
        "| config | " + " | ".join(f"{lo}-{hi - 1} chars" for lo, hi in zip(BUCKETS, BUCKETS[1:], strict=False)) + " | all "
        "| reported pairs | true J < 0.5 |",
        "|---|" + "---:|" * (len(BUCKETS) + 2),
    ]
    n_high = defaultdict(int)
    for j, n in zip(true_j, length, strict=True):
        n_high[bucket_of(n)] += j >= 0.8
    lines.append("| pairs J >= 0.8 | " + " | ".join(str(n_high[b]) for b in range(len(BUCKETS) - 1))
                 + f" | {sum(n_high.values())} | | |")
    for name, config in configs.items():
        dups = find_duplicates(texts, config)
        uf = UnionFind()
        for d in dups:
            uf.union(d.index, d.of)
        found, total = defaultdict(int), defaultdict(int)
        for (a, b), j, n in zip(planted, true_j, length, strict=True):
            if j >= 0.8:
                total[bucket_of(n)] += 1
                found[bucket_of(n)] += uf.find(a) == uf.find(b)
        low = sum(three_gram_jaccard(texts[d.index], texts[d.of]) < 0.5 for d in dups)
        cells = " | ".join(f"{found[b] / total[b]:.3f}" if total[b] else "-" for b in range(len(BUCKETS) - 1))
        recall = sum(found.values()) / max(1, sum(total.values()))
        lines.append(f"| {name} | {cells} | **{recall:.3f}** | {len(dups)} | {low} |")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("\n".join(evaluate_short(args.pairs, args.seed)))
