"""A linear quality scorer: ridge regression on hashed character 1-3-grams and one lexicon
feature (numpy only).

Features: the text is folded the way the labelled excerpts were (whitespace runs → one space),
traditional characters are mapped to simplified (OpenCC t2s, so 繁/简/粤 share their n-grams),
Latin is lower-cased and digits become ``0``. Every character 1-, 2- and 3-gram is hashed into
``2**bits`` buckets by a fixed multiply-xorshift hash on the code points (the same buckets on every
machine and run, unlike Python's ``hash``); a document's vector is ``log1p(count)`` per bucket,
L2-normalised, so a long text and a short one of the same kind score alike.

One more feature sits after the ``2**bits`` buckets: ``log1p`` of the weighted hits of jinglian's
spam lexicon (``corpus/filters/data/spam_terms_zh.txt``: gambling brands, lottery, porn, ad
phrases; the same list and scorer as the ``blocklists`` step). Why: the labelled gambling pages
are nearly all simplified Chinese and the porn pages nearly all traditional, so n-grams learnt on
one group miss the other group's spam; one pooled lexicon feature learnt from both transfers
(leave-one-group-out AUC 0.80 → 0.84, bench/quality.py).

Learner: ridge regression of the 0-5 score (or of 0/1 for binary labels) solved in its dual form,
``w = Xᵀ (X Xᵀ + λI)⁻¹ (y - ȳ)``: a few thousand labelled texts give a small dense system, solved
exactly (no iterations, no random state), so the same data gives the same weights, byte for byte.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from jinglian.corpus.normalize import t2s_converter
from jinglian.corpus.readers import LONE_SURROGATE

ORDERS = (1, 2, 3)
_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD)
_DIGIT = re.compile(r"\d")


def fold(text: str) -> str:
    """The text as the features see it: one line, simplified, lower-case, digits as 0."""
    text = LONE_SURROGATE.sub("", " ".join(text.split()))  # OpenCC takes UTF-8: a lone surrogate cannot be
    return _DIGIT.sub("0", t2s_converter().convert(text).lower())  # encoded (a truncated emoji is no feature)


def hashed_counts(text: str, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(bucket ids, log1p counts) of the folded text's character n-grams, not normalised."""
    cp = np.frombuffer(fold(text).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts = []
    with np.errstate(over="ignore"):  # the hash wraps around 2**64 on purpose
        for n in ORDERS:
            if len(cp) < n:
                break
            h = np.full(len(cp) - n + 1, n, dtype=np.uint64)
            for k in range(n):
                h = (h ^ cp[k : len(cp) - n + 1 + k]) * np.uint64(_MULTIPLIERS[k])
                h ^= h >> np.uint64(29)
            parts.append(h >> np.uint64(64 - bits))
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    ids, counts = np.unique(np.concatenate(parts).astype(np.int64), return_counts=True)
    return ids, np.log1p(counts)


@lru_cache(maxsize=1)
def _spam_lexicon():
    from jinglian.corpus.filters.blocklists import Blocklist

    return Blocklist(lists=["spam_terms"])


def lexicon_sha256() -> str:
    """sha256 of the spam list the lexicon feature reads (on the card: a changed list means retrain)."""
    from importlib import resources

    from jinglian.runs import sha256_file

    return sha256_file(Path(str(resources.files("jinglian.corpus.filters").joinpath("data", "spam_terms_zh.txt"))))


def spam_feature(text: str) -> float:
    """``log1p`` of the spam lexicon's weighted hits in the text (0 for a clean text)."""
    return float(np.log1p(_spam_lexicon().score(text)[0]))


def features(text: str, bits: int, lexicon: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(feature ids, values) of one text: L2-normalised n-gram buckets, then (``lexicon``) the
    spam lexicon feature at id ``2**bits``."""
    ids, values = hashed_counts(text, bits)
    norm = np.sqrt(values @ values)
    values = values / norm if norm else values
    if lexicon:
        ids, values = np.append(ids, 1 << bits), np.append(values, spam_feature(text))
    return ids, values


def n_features(bits: int, lexicon: bool = True) -> int:
    return (1 << bits) + lexicon


def matrix(texts: list[str], bits: int, lexicon: bool = True) -> sparse.csr_matrix:
    indptr, indices, data = [0], [], []
    for text in texts:
        ids, values = features(text, bits, lexicon)
        indices.append(ids)
        data.append(values)
        indptr.append(indptr[-1] + len(ids))
    return sparse.csr_matrix(
        (np.concatenate(data or [np.zeros(0)]), np.concatenate(indices or [np.zeros(0, np.int64)]), indptr),
        shape=(len(texts), n_features(bits, lexicon)),
    )


def fit_ridge(
    texts: list[str], targets: list[float], bits: int, alpha: float, lexicon: bool = True
) -> tuple[np.ndarray, float]:
    """(weights as float32, bias) of ridge regression on the features (dual form, exact)."""
    x = matrix(texts, bits, lexicon)
    y = np.asarray(targets, dtype=np.float64)
    bias = float(y.mean())
    gram = (x @ x.T).toarray()
    gram[np.diag_indices_from(gram)] += alpha
    dual = np.linalg.solve(gram, y - bias)
    weights = np.asarray(x.T @ dual).ravel().astype(np.float32)
    return weights, bias


def predict(weights: np.ndarray, bias: float, text: str, bits: int) -> float:
    ids, values = features(text, bits, lexicon=len(weights) > 1 << bits)
    return float(weights[ids].astype(np.float64) @ values + bias)
