"""Exact and near-duplicate removal for Chinese corpora (exact hash + MinHash LSH, union-find).

- ``shingles``  the one shingling function: the dedup key (normalized, 繁→简, punctuation-free)
  and its character n-grams, hashed with numpy
- ``minhash``   :class:`DedupConfig`, one-permutation MinHash signatures, band keys
- ``clusters``  candidate pairs from buckets, verified on signatures; union-find
- ``store``     signature sets on disk (per task, and per index segment)
- ``stages``    the four datatrove steps: signature -> buckets -> cluster -> filter
- ``index``     the incremental index (``--index DIR``)
- ``runner``    :func:`dedup_stages` / :func:`run_stages` (for curate), :func:`run_dedup` (the CLI)
- ``api``       :func:`find_duplicates` / :func:`deduplicate` for lists of strings (prompts)
"""

from jinglian.corpus.dedup.api import Duplicate, deduplicate, find_duplicates
from jinglian.corpus.dedup.minhash import DedupConfig

__all__ = ["DedupConfig", "Duplicate", "deduplicate", "find_duplicates"]
