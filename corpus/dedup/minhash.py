"""MinHash signatures by one-permutation hashing, LSH band keys, and Jaccard estimates.

Why one-permutation hashing (OPH) and not k independent permutations: the classic signature
applies k hash functions to every shingle (k x 700 multiply-adds for a 700-character document,
about 100 µs even fully vectorized in numpy), which caps a core near 9,000 documents/s. OPH
(Li, Owen & Zhang, NeurIPS 2012) hashes each shingle once and splits the hash range into k bins,
keeping the minimum per bin: O(shingles), about 10 µs. A bin left empty (short documents) is
filled by *optimal densification* (Shrivastava, ICML 2017): it borrows the value of the first
non-empty bin along a probe sequence that depends only on the bin, so two documents with the same
shingles borrow the same way, and P[bin values equal] stays the Jaccard similarity. Agreement of
the k bins therefore estimates Jaccard exactly as a k-permutation signature does, and LSH bands
work unchanged. bench/dedup.py measures recall and precision against brute-force Jaccard.

Signatures are uint32 (k values per document); a band is ``rows`` consecutive bins hashed to one
uint64 key.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np

from jinglian.corpus.dedup.shingles import (
    DEFAULT_NGRAM,
    KEY_VERSION,
    SCHEME,
    batch_shingle_hashes,
    mix64,
    shingle_hashes,
)

_LOW32 = np.uint64(0xFFFFFFFF)
SHORT_NGRAM = 3  # the second shingle size, for short texts' sake (bench/dedup_short.py)
# Until issue 21 a key under SHORT_BELOW characters was shingled in SHORT_NGRAM-grams and a longer
# one in 5-grams, so a 398- and a 400-character copy of one text (J 0.995) never met: a pair across
# any length cut is compared on two different shingle sets. Now every key is shingled in both
# sizes (the union of its 3-grams and 5-grams, hashed apart), so there is no cut; SHORT_BELOW only
# switches this on (> 0) or off (0: ngram-grams only), and is kept so that an index records it.
SHORT_BELOW = 400
_PROBES = 64  # probe steps tried per empty bin before a linear scan (only tiny documents get there)


@dataclass(frozen=True)
class DedupConfig:
    """Everything that decides which documents collide.

    An index accepts any run whose keys and *signatures* match (``identity``: t2s, key version, the
    n-gram rule, number of values, seed, scheme); the band layout, threshold and max_checks may
    change from run to run, since band keys are computed from the stored signatures.

    ngram, short_ngram: characters per shingle; every key is shingled in both sizes (the union of
    the two sets). Short texts (poems, titles, questions, prompts) need the short size: one edited
    character removes ``n`` of the ~``len`` shingles, so 5-grams of a 28-character poem lose a fifth
    of the set to one variant character; long texts need the long one for precision. Both for every
    key, not one by length: a length cut left pairs across it unmatched (issue 21).
    ``short_below = 0`` uses ``ngram`` alone for every key. t2s: compare 繁 and 简 as
    one (OpenCC t2s in the key). bands x rows: the LSH layout (bands * rows = num_perm), the
    detection S-curve is ``1 - (1 - J**rows)**bands`` before verification. threshold: a candidate
    pair is a duplicate when the signature-estimated Jaccard is at least this (so pairs far below
    it are never reported, whatever the banding let through). max_checks: members of one band
    bucket a document is verified against before giving up (bounds the work on huge buckets).

    The resulting S-curve (defaults: 5-grams, 16 x 7, threshold 0.7), measured by bench/dedup.py on
    planted pairs: share detected 0.00 below J 0.6, 0.10 for 0.6-0.7, 0.76 for 0.7-0.8, 0.993 for
    0.8-0.85, 1.00 above; none of 1,352 reported pairs had a true J below 0.5.
    """

    ngram: int = DEFAULT_NGRAM
    short_ngram: int = SHORT_NGRAM
    short_below: int = SHORT_BELOW
    t2s: bool = True
    bands: int = 16  # 16 x 7 by bench/dedup.py: recall 0.99 at 0.8 <= J < 0.85 (14 x 8: 0.97)
    rows: int = 7
    threshold: float = 0.7
    seed: int = 42
    max_checks: int = 8

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    def identity(self) -> dict:
        """What must match between an index and a run: every setting the keys and signatures depend on."""
        return {
            "t2s": self.t2s,
            "key_version": KEY_VERSION,
            "ngram": self.ngram,
            "short_ngram": self.short_ngram if self.short_below else self.ngram,
            "short_below": self.short_below if self.short_ngram != self.ngram else 0,
            "num_perm": self.num_perm,
            "seed": self.seed,
            "scheme": SCHEME,
        }

    @property
    def ngrams(self) -> tuple[int, ...]:
        """The shingle sizes every key is shingled in (the same for every length)."""
        if not self.short_below or self.short_ngram == self.ngram:
            return (self.ngram,)
        return (self.short_ngram, self.ngram)

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int = 112, **kwargs) -> DedupConfig:
        """The layout for ``threshold``: the most rows per band (fewest chance candidates) that still
        puts a pair at J = min(threshold + 0.1, (1 + threshold) / 2) into a shared band with
        probability >= 0.97. 0.7 gives 16 x 7 (what bench/dedup.py measured best), 0.8 gives 14 x 8,
        0.5 gives 28 x 4. Verification on the full signature then cuts the curve at ``threshold``.
        """
        target = min(threshold + 0.1, (1 + threshold) / 2)
        layouts = [(num_perm // r, r) for r in range(num_perm, 0, -1) if num_perm % r == 0]
        for bands, rows in layouts:
            if 1.0 - (1.0 - target**rows) ** bands >= 0.97:
                return cls(bands=bands, rows=rows, threshold=threshold, **kwargs)
        return cls(bands=num_perm, rows=1, threshold=threshold, **kwargs)

    def __post_init__(self):
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be a Jaccard similarity in (0, 1], not {self.threshold}")
        if self.ngram < 1 or self.short_ngram < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("ngram, short_ngram, bands and rows must be positive")
        if self.short_below < 0:
            raise ValueError(f"short_below is a length in characters (0: off), not {self.short_below}")

    def detection_probability(self, j: float, verified: bool = False) -> float:
        """Chance that a pair of true Jaccard ``j`` shares a band (``verified``: and then passes the
        threshold on the signature, whose k values each agree with probability ``j``; the two
        events are treated as independent, which slightly overstates the product)."""
        banded = 1.0 - (1.0 - j**self.rows) ** self.bands
        if not verified:
            return banded
        k, need = self.num_perm, math.ceil(self.threshold * self.num_perm)
        return banded * sum(math.comb(k, m) * j**m * (1 - j) ** (k - m) for m in range(need, k + 1))

    def to_json(self) -> str:
        return json.dumps(asdict(self))


DEFAULT_CONFIG = DedupConfig()


class MinHasher:
    """Signatures for one :class:`DedupConfig` (cheap to build; pickles to worker processes)."""

    def __init__(self, config: DedupConfig | None = None):
        self.config = config or DEFAULT_CONFIG
        self.k = self.config.num_perm

    @cached_property
    def _probe(self) -> np.ndarray:
        """probe[i, t]: the bin that empty bin i borrows from at attempt t (same for every document)."""
        rng = np.random.default_rng(self.config.seed)
        return rng.integers(0, self.k, size=(self.k, _PROBES))

    @cached_property
    def _band_mult(self) -> np.ndarray:
        rng = np.random.default_rng(self.config.seed + 1)
        return rng.integers(
            1, 2**63, size=(self.config.bands, self.config.rows), dtype=np.uint64
        ) | np.uint64(1)

    def signature_of_hashes(self, hashes: np.ndarray) -> np.ndarray | None:
        """uint32[k] signature of a set of uint64 shingle hashes; None when there are none."""
        if hashes.size == 0:
            return None
        k = self.k
        with np.errstate(over="ignore"):
            bins = (((hashes >> np.uint64(32)) * np.uint64(k)) >> np.uint64(32)).astype(np.intp)
        values = (hashes & _LOW32).astype(np.uint32)
        sig = np.full(k, np.iinfo(np.uint32).max, dtype=np.uint32)
        np.minimum.at(sig, bins, values)
        filled = np.bincount(bins, minlength=k) > 0
        if not filled.all():
            sig = self._densify(sig, filled)
        return sig

    def signatures(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Signatures of many keys at once, identical to :meth:`signature` of each: ``(sigs, has_signature)``.

        ``sigs`` is uint32 [len(keys), k] with zero rows where a key is shorter than one shingle.
        """
        k = self.k
        hashes, doc = self._batch_hashes(keys)
        with np.errstate(over="ignore"):
            bins = (((hashes >> np.uint64(32)) * np.uint64(k)) >> np.uint64(32)).astype(np.intp)
        flat = doc * k + bins
        sigs = np.full(len(keys) * k, np.iinfo(np.uint32).max, dtype=np.uint32)
        np.minimum.at(sigs, flat, (hashes & _LOW32).astype(np.uint32))
        sigs = sigs.reshape(len(keys), k)
        filled = (np.bincount(flat, minlength=len(keys) * k) > 0).reshape(len(keys), k)
        has = filled.any(axis=1)
        for i in np.flatnonzero(has & ~filled.all(axis=1)):
            sigs[i] = self._densify(sigs[i], filled[i])
        sigs[~has] = 0
        return sigs, has

    def _batch_hashes(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Shingle hashes of many keys, in every size of ``config.ngrams``."""
        parts = [batch_shingle_hashes(keys, n, self._seed(n)) for n in self.config.ngrams]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([h for h, _ in parts]), np.concatenate([d for _, d in parts])

    def _seed(self, n: int) -> int:
        """A seed per shingle size, so that a 3-gram and a 5-gram never share a hash by design."""
        return self.config.seed + 1_000_003 * n

    def _densify(self, sig: np.ndarray, filled: np.ndarray) -> np.ndarray:
        out = sig.copy()
        for i in np.flatnonzero(~filled):
            for j in self._probe[i]:
                if filled[j]:
                    out[i] = sig[j]
                    break
            else:  # tiny document: first filled bin to the right, cyclically
                j = next(j for j in ((i + s) % self.k for s in range(1, self.k)) if filled[j])
                out[i] = sig[j]
        return out

    def signature(self, key: str) -> np.ndarray | None:
        """Signature of a dedup key (see :func:`~jinglian.corpus.dedup.shingles.dedup_key`)."""
        hashes = [shingle_hashes(key, n, self._seed(n)) for n in self.config.ngrams]
        return self.signature_of_hashes(np.concatenate(hashes))

    def band_keys(self, sigs: np.ndarray, band: int) -> np.ndarray:
        """uint64 key of band ``band`` for each row of ``sigs`` (n x k): equal rows, equal key."""
        r = self.config.rows
        block = sigs[:, band * r : (band + 1) * r].astype(np.uint64)
        with np.errstate(over="ignore"):
            combined = (block * self._band_mult[band]).sum(axis=1, dtype=np.uint64) + np.uint64(band)
            return mix64(combined)


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Share of equal signature values: rows of ``a`` against rows of ``b`` (or two vectors)."""
    return (a == b).mean(axis=-1)
