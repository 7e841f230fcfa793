"""Deduplicate a list of strings in memory: near-duplicate prompts in SFT and preference data.

Same keys, shingles, signatures, buckets and clusters as the corpus stages, without files or an
executor. Every text is shingled in 3-grams and 5-grams (``DedupConfig.ngrams``), which short texts
(prompts, titles) need; texts shorter than one shingle are compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jinglian.corpus.dedup.clusters import bucket_pairs, cluster
from jinglian.corpus.dedup.minhash import DEFAULT_CONFIG, DedupConfig, MinHasher
from jinglian.corpus.dedup.shingles import dedup_key, exact_hash


@dataclass(frozen=True)
class Duplicate:
    """``texts[index]`` duplicates ``texts[of]`` (the earliest text of its cluster, which is kept)."""

    index: int
    of: int
    jaccard: float  # estimated from the signatures (1.0 for exact duplicates)
    exact: bool


def find_duplicates(
    texts: list[str], config: DedupConfig = DEFAULT_CONFIG
) -> list[Duplicate]:
    """The duplicates among ``texts``, earliest kept; ``[i for i ... if i not in dup]`` dedups a list."""
    hasher = MinHasher(config)
    keys = [dedup_key(t, t2s=config.t2s) for t in texts]
    nodes = np.arange(len(texts), dtype=np.uint64)
    sigs, has_sig = hasher.signatures(keys)
    hashed = np.array([bool(k) for k in keys], bool)  # an empty key duplicates nothing
    exact = np.array([exact_hash(k) for k in keys], np.uint64)
    edges = [bucket_pairs(exact[hashed], nodes[hashed], signatures=None, threshold=1.0)]
    for band in range(config.bands):
        edges.append(
            bucket_pairs(
                hasher.band_keys(sigs[has_sig], band),
                nodes[has_sig],
                signatures=lambda n: sigs[n.astype(np.intp)],
                threshold=config.threshold,
                max_checks=config.max_checks,
            )
        )
    a = np.concatenate([e[0] for e in edges])
    b = np.concatenate([e[1] for e in edges])
    result = []
    for dup, keep in sorted(cluster(a, b).items()):
        same = bool(exact[dup] == exact[keep])
        j = 1.0 if same or not has_sig[dup] else float((sigs[dup] == sigs[keep]).mean())
        result.append(Duplicate(index=dup, of=keep, jaccard=j, exact=same))
    return result


def deduplicate(texts: list[str], config: DedupConfig = DEFAULT_CONFIG) -> list[str]:
    """``texts`` without their duplicates, order kept."""
    drop = {d.index for d in find_duplicates(texts, config)}
    return [t for i, t in enumerate(texts) if i not in drop]
