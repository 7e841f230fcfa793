"""The project's one shingling function: character n-grams of a normalized, punctuation-free key.

Why characters and not words: Chinese has no spaces, so whitespace "words" turn a whole sentence
into one token, and word segmentation (jieba through spaCy, as datatrove does for ``zh``) is slow
and adds a heavy dependency. Character n-grams need neither.

Why a *key*: two copies of a page differ in script (繁/简), full/half width, punctuation and
whitespace far more often than in wording. The key is the text after the project's normalization
(:mod:`jinglian.corpus.normalize`: NFKC and OpenCC t2s), lower-cased, with every character that is
not a letter or digit removed. Exact deduplication hashes this key, near-duplicate detection
shingles it, so 繁/简 and re-punctuated copies collide (DESIGN.md: recall on such pairs rose from
0.29 to 0.95+ once script and punctuation were set aside).

Speed: shingle hashes are computed for all positions at once with numpy (a polynomial hash over the
code points, then the splitmix64 finalizer), about 20 µs for a 700-character document.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import xxhash

from jinglian.corpus.normalize import t2s_converter

# Characters that are not letters or digits (Unicode-aware): punctuation, symbols, whitespace,
# invisible marks. "_" counts as a word character for \w, so it is listed explicitly.
_NOT_WORD = re.compile(r"[\W_]+")

DEFAULT_NGRAM = 5  # Han characters per shingle; chosen by bench/dedup.py (see bench/README.md)
# Version of what dedup_key keeps and how shingles are hashed: recorded in an index, so an index
# built by a jinglian whose keys differ is refused instead of silently missing its duplicates.
KEY_VERSION = 1
# one-permutation MinHash with optimal densification (minhash.py); v2: every key is shingled in
# both n-gram sizes (v1 picked one size by the key's length, so pairs across the cut never met)
SCHEME = "oph-od-v2"

_M_POLY = np.uint64(0x9E3779B97F4A7C15)
_M_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_M_MIX2 = np.uint64(0x94D049BB133111EB)


@lru_cache(maxsize=1)
def _is_word_table() -> np.ndarray:
    """is_word[c] for every code point: what ``\\w`` keeps, minus "_" (str.isalnum)."""
    return np.fromiter((chr(c).isalnum() for c in range(0x110000)), dtype=bool, count=0x110000)


# Han blocks (radicals, CJK symbols, Ext A, URO, compatibility, Ext B-F and supplement) where t2s acts
_HAN_RANGES = [
    (0x2E80, 0x2FDF),
    (0x3000, 0x303F),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
]


@lru_cache(maxsize=1)
def _t2s_changes_table() -> np.ndarray:
    """changes[c]: OpenCC t2s rewrites character c on its own (5,118 characters; built in ~0.1 s)."""
    chars = [chr(c) for lo, hi in _HAN_RANGES for c in range(lo, hi + 1)]
    converted = t2s_converter().convert("\n".join(chars)).split("\n")
    table = np.zeros(0x110000, dtype=bool)
    if len(converted) == len(chars):
        table[[ord(c) for c, t in zip(chars, converted, strict=True) if c != t]] = True
    else:  # never seen; then every Han character is a reason to convert
        for lo, hi in _HAN_RANGES:
            table[lo : hi + 1] = True
    return table


def strip_to_words(text: str) -> str:
    """``text`` without punctuation, symbols, whitespace and invisible marks (``[\\W_]+`` removed).

    A numpy lookup over the code points: ~5x faster than the regular expression on Chinese text.
    ``surrogatepass`` everywhere here: a lone surrogate (a truncated emoji) is not a letter and is
    dropped like punctuation instead of stopping the run with an encode error.
    """
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return codes[_is_word_table()[codes]].tobytes().decode("utf-32-le", "surrogatepass")


def dedup_key(text: str, *, t2s: bool = True) -> str:
    """The text as deduplication sees it: normalized, lower-cased, only letters and digits left.

    Punctuation and whitespace are removed *before* NFKC: they are dropped anyway, and without the
    Chinese punctuation most text is already NFKC, which ``is_normalized`` checks ~500x faster
    than normalizing (NFKC alone would cost more than the whole MinHash signature). Likewise OpenCC
    runs only when a character it would rewrite is present: simplified text skips it (a third of
    the key's cost). Its phrase rules never fire without such a character in practice, since a
    traditional text of any length contains many of them.
    """
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    codes = codes[_is_word_table()[codes]]
    key = codes.tobytes().decode("utf-32-le", "surrogatepass")
    if not unicodedata.is_normalized("NFKC", key):
        key = _NOT_WORD.sub("", unicodedata.normalize("NFKC", key))
        codes = np.frombuffer(key.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if t2s and _t2s_changes_table()[codes].any():
        key = t2s_converter().convert(key)
    return key.lower()


def exact_hash(key: str) -> int:
    """64-bit hash of a dedup key (xxh3): equal keys are exact duplicates."""
    return xxhash.xxh3_64_intdigest(key.encode("utf-8"))


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer, vectorized: turns structured uint64 values into uniform ones."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M_MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _M_MIX2
    return x ^ (x >> np.uint64(31))


def shingle_hashes(key: str, n: int = DEFAULT_NGRAM, seed: int = 0) -> np.ndarray:
    """uint64 hashes of every character n-gram of ``key`` (empty when ``len(key) < n``).

    Duplicated n-grams give duplicated hashes; MinHash takes minima, so sets and multisets agree.
    """
    codes = np.frombuffer(key.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    m = len(codes) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = np.full(m, np.uint64(seed), dtype=np.uint64)
        for k in range(n):
            h = h * _M_POLY + codes[k : k + m]
        return mix64(h)


def batch_shingle_hashes(
    keys: list[str], n: int = DEFAULT_NGRAM, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shingle_hashes` of many keys at once: ``(hashes, document index of each hash)``.

    One pass of numpy over the concatenated code points instead of ~10 small numpy calls per
    document: at ~700 characters a document, the per-call overhead was most of the cost.
    """
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
    codes = np.frombuffer("".join(keys).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    total = len(codes)
    padded = np.concatenate([codes, np.zeros(n - 1, np.uint64)])
    with np.errstate(over="ignore"):
        h = np.full(total, np.uint64(seed), dtype=np.uint64)
        for k in range(n):
            h = h * _M_POLY + padded[k : k + total]
    doc = np.repeat(np.arange(len(keys)), lengths)
    starts = np.cumsum(lengths) - lengths
    valid = np.arange(total) - starts[doc] <= (lengths - n)[doc]
    with np.errstate(over="ignore"):
        return mix64(h[valid]), doc[valid]


def shingle_set(text: str, n: int = DEFAULT_NGRAM, *, t2s: bool = True) -> set[str]:
    """The n-gram strings themselves, for exact Jaccard in tests and benchmarks (slow, exact)."""
    key = dedup_key(text, t2s=t2s)
    return {key[i : i + n] for i in range(len(key) - n + 1)}


def jaccard(a: set, b: set) -> float:
    """True Jaccard similarity of two shingle sets (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
