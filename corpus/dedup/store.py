"""On-disk signature sets: one per task of a run, and one per segment of an incremental index.

A set is three files sharing a prefix, written atomically (temporary name, then rename), so a
killed task leaves either nothing or a whole set:

- ``PREFIX.sig.npy``   uint32 [n, num_perm] signatures (zero rows where a document has none)
- ``PREFIX.meta.npz``  ``exact`` uint64 [n] (hash of the dedup key), ``kind`` uint8 [n]
- ``PREFIX.ids.json``  the n document ids, to name the document a duplicate duplicates

``kind``: 0 = signature and exact hash; 1 = shorter than one shingle (exact hash only);
2 = nothing left after normalization (not deduplicated at all). Plain numpy files rather than a
pickled datasketch ``MinHashLSH``: they memory-map, append as new files without rewriting old
ones, need no Python objects per document, and the index uses the very same files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

HAS_SIGNATURE, SHORT, EMPTY = 0, 1, 2
SUFFIXES = (".sig.npy", ".meta.npz", ".ids.json")


class StoreError(Exception):
    """A signature set is missing, truncated or inconsistent."""


def _replace(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


def write_set(
    prefix: str | Path, sigs: np.ndarray, exact: np.ndarray, kind: np.ndarray, ids: list[str]
) -> None:
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    tmp = {s: prefix.with_name(prefix.name + s + ".tmp") for s in SUFFIXES}
    with open(tmp[".sig.npy"], "wb") as f:
        np.save(f, np.ascontiguousarray(sigs, dtype=np.uint32))
    with open(tmp[".meta.npz"], "wb") as f:
        np.savez(f, exact=exact.astype(np.uint64), kind=kind.astype(np.uint8))
    tmp[".ids.json"].write_text(json.dumps(ids, ensure_ascii=False), encoding="utf-8")
    # ids last: a set counts as present only when its ids file exists
    for suffix in SUFFIXES:
        _replace(tmp[suffix], prefix.with_name(prefix.name + suffix))


@dataclass
class SignatureSet:
    """A set on disk; signatures are memory-mapped, ids loaded only when asked for."""

    prefix: Path
    num_perm: int

    @cached_property
    def sigs(self) -> np.ndarray:
        return np.load(str(self.prefix) + ".sig.npy", mmap_mode="r")

    @cached_property
    def _meta(self):
        with np.load(str(self.prefix) + ".meta.npz") as meta:
            return meta["exact"], meta["kind"]

    @property
    def exact(self) -> np.ndarray:
        return self._meta[0]

    @property
    def kind(self) -> np.ndarray:
        return self._meta[1]

    @cached_property
    def ids(self) -> list[str]:
        return json.loads(Path(str(self.prefix) + ".ids.json").read_text(encoding="utf-8"))

    def __len__(self) -> int:
        return len(self.kind)

    def check(self, expected: int | None = None, with_ids: bool = False) -> None:
        """Raise :class:`StoreError` unless all three files exist and agree on the count."""
        for suffix in SUFFIXES:
            if not Path(str(self.prefix) + suffix).is_file():
                raise StoreError(f"{self.prefix}{suffix}: missing")
        try:
            n, k = self.sigs.shape
            exact, kind = self._meta
            n_ids = len(self.ids) if with_ids else n
        except (ValueError, OSError, KeyError, json.JSONDecodeError) as err:
            raise StoreError(f"{self.prefix}: unreadable ({err})") from None
        if k != self.num_perm or len(exact) != n or len(kind) != n or n_ids != n:
            raise StoreError(
                f"{self.prefix}: inconsistent files (signatures {n}x{k}, {len(kind)} kinds, {n_ids} ids)"
            )
        if expected is not None and n != expected:
            raise StoreError(f"{self.prefix}: {n} documents, expected {expected}")


GATHER_ROWS = 1 << 15  # at most 128 MiB of pages mapped at once (one 4 KiB page per row)


def gather(sets: list[SignatureSet], nodes: np.ndarray, num_perm: int) -> np.ndarray:
    """Signature rows of ``nodes`` (``source << 32 | position``) from their sets."""
    src = (nodes >> np.uint64(32)).astype(np.intp)
    pos = (nodes & np.uint64(0xFFFFFFFF)).astype(np.intp)
    out = np.empty((len(nodes), num_perm), np.uint32)
    for s in np.unique(src):
        where = np.flatnonzero(src == s)
        where = where[np.argsort(pos[where], kind="stable")]
        # GATHER_ROWS rows at a time from a map of their own, dropped after: rows picked all over the
        # file would otherwise keep every page resident (5M documents: 2.2 GB in each bucket worker)
        for i in range(0, len(where), GATHER_ROWS):
            rows = where[i : i + GATHER_ROWS]
            sigs = np.load(str(sets[s].prefix) + ".sig.npy", mmap_mode="r")
            out[rows] = sigs[pos[rows]]
            del sigs
    return out


def node_ids(source: int, count: int) -> np.ndarray:
    return (np.uint64(source) << np.uint64(32)) | np.arange(count, dtype=np.uint64)
