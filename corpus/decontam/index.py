"""The benchmark index and the matcher: which test items a text contains, and where.

Matching key. A text and an item are compared after the project's normalization steps (NFKC width
folding, OpenCC 繁→简, as :mod:`jinglian.corpus.normalize`), then option labels (``A．`` ``B、``
``(C)`` ``D`` before a Han character), punctuation, symbols and whitespace are removed and Latin
letters lower-cased. So a page that copies a question in traditional script, with full-width or no
punctuation, or with its options on one line or many, gives the same key as the item. (We call
NFKC directly instead of :func:`~jinglian.corpus.normalize.normalize_unicode`: that function only
adds a round trip that protects Chinese punctuation, which the key drops anyway, and it halves the
speed.)

Index. Every character n-gram (``n`` characters of the key) of every item is hashed (64-bit
polynomial hash, mixed); the index is three arrays sorted by hash (hash, item, position in the
item) plus a bitmap of the hashes for a quick "not in any item" answer, saved as ``.npy`` files that
worker processes memory-map: built once, shared by all workers through the page cache.

Rule. For each item a text hits, the characters of the item covered by hit n-grams give its
``share`` (covered / item length) and its ``run`` (longest covered stretch). An item is found when
``share >= min_share`` (a short item must be copied nearly whole, so a common phrase such as
下列说法正确的是 never matches by itself) or ``run >= long_run`` characters (a long item, e.g. a
reading passage, is found from any long copied stretch). The defaults come from ``bench/decontam.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from jinglian.corpus.decontam.benchmarks import Item
from jinglian.corpus.normalize import t2s_converter

FORMAT_VERSION = 1
# Option labels: a capital A-H not glued to other Latin letters or digits, followed by a label mark
# or directly by a Han character ("A．河南", "(B)湖南", "C 山东", "D广东"); and the numbers pages put
# in their place ("(1)", "2．", "3、"), so re-numbered options still give the item's key.
# (Each branch starts with its character class and looks behind afterwards: twice as fast in re.)
_OPTION_LABEL = re.compile(
    r"[A-H](?<![A-Za-z0-9][A-H])(?=[\s.．、:：)）]|[\u3400-\u9fff])"
    r"|[(（][1-8][)）]|[1-8](?<![0-9A-Za-z.][1-8])(?=[.．、](?![0-9]))"
)
_NOT_WORD = re.compile(r"[\W_]+")
_NOT_WORD_CHAR = re.compile(r"[\W_]")
_PRIME = np.uint64(1099511628211)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class MatchConfig:
    n: int = 10  # characters per n-gram of the key (items shorter than this cannot be indexed)
    min_share: float = 0.8  # share of an item's key covered by hits that makes it found
    long_run: int = 50  # or a covered stretch of this many key characters (long items)

    def needed(self, length: int) -> int:
        """Key characters an item of ``length`` needs covered, whichever rule is easier."""
        return min(int(np.ceil(self.min_share * length)), self.long_run)


@dataclass
class Hit:
    """One item found in one text: spans are [start, end) offsets into the text that was searched."""

    benchmark: str
    item_id: str
    share: float  # share of the item's key covered
    run: int  # longest covered stretch, key characters
    spans: list[tuple[int, int]]

    def as_dict(self, text: str | None = None) -> dict:
        d = {"benchmark": self.benchmark, "item_id": self.item_id, "share": round(self.share, 4), "run": self.run,
             "spans": [list(s) for s in self.spans]}
        if text is not None:
            d["matched"] = " … ".join(text[a:b] for a, b in self.spans)[:300]
        return d


class KeyMaker:
    """Texts → matching keys; OpenCC is built lazily per process (its objects do not pickle)."""

    def key(self, text: str) -> str:
        text = t2s_converter().convert(unicodedata.normalize("NFKC", text))
        return _NOT_WORD.sub("", _OPTION_LABEL.sub("", text)).lower()

    def key_with_offsets(self, text: str) -> tuple[str, np.ndarray]:
        """The key of ``text`` and, for each key character, the offset of the text character it came from.

        Used only for texts that matched (to cut or report spans). NFKC is applied per distinct
        character; when every one maps to one character (nearly all text), offsets stay 1:1 and no
        Python loop runs over the text.
        """
        table = {c: unicodedata.normalize("NFKC", c) for c in set(text)}
        if all(len(v) == 1 for v in table.values()):
            folded = text.translate(str.maketrans({c: v for c, v in table.items() if v != c}))
            owner = np.arange(len(text))
        else:
            pieces = [table[ch] for ch in text]
            folded = "".join(pieces)
            owner = np.array([j for j, p in enumerate(pieces) for _ in p], dtype=np.int64)
        converted = t2s_converter().convert(folded)
        if len(converted) != len(folded):  # t2s kept the length on all text we tried; be safe anyway
            parts = [t2s_converter().convert(ch) or ch for ch in folded]
            converted = "".join(parts)
            owner = np.array([owner[i] for i, p in enumerate(parts) for _ in p], dtype=np.int64)
        # Mark removed characters with NUL (same length, so offsets hold), then keep the rest.
        marked = _NOT_WORD_CHAR.sub("\x00", _OPTION_LABEL.sub(lambda m: "\x00" * len(m.group()), converted))
        keep = np.frombuffer(marked.encode("utf-32-le"), dtype=np.uint32) != 0
        kept = marked.replace("\x00", "")
        owner = owner[keep]
        low = kept.lower()
        if len(low) != len(kept):  # a character whose lower case is longer (İ): map it piece by piece
            owner = np.array([owner[i] for i, ch in enumerate(kept) for _ in ch.lower()], dtype=np.int64)
        return low, owner


def ngram_hashes(key: str, n: int) -> np.ndarray:
    """64-bit hashes of every ``n``-character window of ``key`` (vectorized rolling polynomial)."""
    codes = np.frombuffer(key.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    m = len(codes) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    h = codes[:m].copy()
    for k in range(1, n):
        h *= _PRIME
        h += codes[k : k + m]
    h *= _MIX  # spread the bits: the bitmap uses the low ones
    h ^= h >> np.uint64(29)
    return h


def _merge(starts: np.ndarray, n: int, gap: int = 0) -> list[tuple[int, int]]:
    """Union of the intervals [s, s + n), joining those separated by at most ``gap`` characters."""
    s = np.unique(starts)
    breaks = np.flatnonzero(np.diff(s) > n + gap)
    firsts = s[np.r_[0, breaks + 1]]
    lasts = s[np.r_[breaks, len(s) - 1]] + n
    return list(zip(firsts.tolist(), lasts.tolist(), strict=True))


class DecontIndex:
    """A saved index (see the module docstring); ``find(text)`` lists the items ``text`` contains."""

    FILES = ("hashes", "item", "pos", "bitmap")

    def __init__(self, folder: str | Path, mmap: bool = True):
        self.folder = Path(folder)
        meta = json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))
        self.config = MatchConfig(**meta["config"])
        self.meta = meta
        mode = "r" if mmap else None
        self.hashes, self.entry_item, self.entry_pos, self.bitmap = (
            np.load(self.folder / f"{name}.npy", mmap_mode=mode) for name in self.FILES
        )
        self.mask = np.uint64(len(self.bitmap) * 8 - 1)
        items = [json.loads(line) for line in open(self.folder / "items.jsonl", encoding="utf-8")]
        self.benchmarks = [i["benchmark"] for i in items]
        self.item_ids = [i["item_id"] for i in items]
        self.lengths = np.array([i["length"] for i in items], dtype=np.int64)
        n = self.config.n
        # Distinct hit positions an item needs before the exact coverage is worth computing.
        self.min_hits = np.array([max(1, self.config.needed(length) - n + 1) for length in self.lengths.tolist()])
        self.keys = KeyMaker()

    # -- building ------------------------------------------------------------------------------
    @staticmethod
    def build(items: list[Item], folder: str | Path, config: MatchConfig = MatchConfig()) -> dict:
        """Index ``items`` into ``folder`` (written to a temporary folder, then renamed: a killed build
        leaves no half index). Returns the index's meta (counts, fingerprint)."""
        folder = Path(folder)
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        keys = KeyMaker()
        all_h, all_item, all_pos = [], [], []
        skipped = 0
        with open(tmp / "items.jsonl", "w", encoding="utf-8") as f:
            kept = 0
            for item in items:
                key = keys.key(item.text)
                h = ngram_hashes(key, config.n)
                if len(h) == 0:
                    skipped += 1  # shorter than n after normalization: nothing to match safely
                    continue
                all_h.append(h)
                all_item.append(np.full(len(h), kept, dtype=np.uint32))
                all_pos.append(np.arange(len(h), dtype=np.uint32))
                f.write(json.dumps({"benchmark": item.benchmark, "item_id": item.item_id, "length": len(key)},
                                   ensure_ascii=False) + "\n")
                kept += 1
        hashes = np.concatenate(all_h) if all_h else np.empty(0, np.uint64)
        order = np.argsort(hashes, kind="stable")
        bits = 1 << max(20, int(len(hashes) * 32 - 1).bit_length())  # ~3% of random hashes pass the bitmap
        bitmap = np.zeros(bits // 8, dtype=np.uint8)
        low = hashes & np.uint64(bits - 1)
        np.bitwise_or.at(bitmap, (low >> np.uint64(3)).astype(np.int64), (np.uint8(1) << (low & np.uint64(7)).astype(np.uint8)))
        arrays = {"hashes": hashes[order],
                  "item": (np.concatenate(all_item) if all_item else np.empty(0, np.uint32))[order],
                  "pos": (np.concatenate(all_pos) if all_pos else np.empty(0, np.uint32))[order],
                  "bitmap": bitmap}
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", arr)
        per_benchmark: dict[str, int] = {}
        for item in items:
            per_benchmark[item.benchmark] = per_benchmark.get(item.benchmark, 0) + 1
        meta = {"format": FORMAT_VERSION, "config": asdict(config), "items": kept, "items_too_short": skipped,
                "ngrams": int(len(hashes)), "per_benchmark": per_benchmark,
                "fingerprint": fingerprint(items, config)}
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        tmp.rename(folder)
        return meta

    # -- matching ------------------------------------------------------------------------------
    def _hits(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(key position, item, position in item) of every n-gram of ``key`` found in the index."""
        empty = np.empty(0, np.int64)
        h = ngram_hashes(key, self.config.n)
        if len(h) == 0 or len(self.hashes) == 0:
            return empty, empty, empty
        low = h & self.mask
        maybe = self.bitmap[(low >> np.uint64(3)).astype(np.int64)] & (np.uint8(1) << (low & np.uint64(7)).astype(np.uint8))
        pos = np.flatnonzero(maybe)
        if len(pos) == 0:
            return empty, empty, empty
        q = h[pos]
        lo = np.searchsorted(self.hashes, q, "left")
        hi = np.searchsorted(self.hashes, q, "right")
        counts = hi - lo
        found = counts > 0
        pos, lo, counts = pos[found], lo[found], counts[found]
        if len(pos) == 0:
            return empty, empty, empty
        total = int(counts.sum())
        first = np.repeat(np.cumsum(counts) - counts, counts)
        entries = np.repeat(lo, counts) + (np.arange(total) - first)
        return np.repeat(pos, counts), self.entry_item[entries].astype(np.int64), self.entry_pos[entries].astype(np.int64)

    def find_in_key(self, key: str) -> list[Hit]:
        """Items found in a key; spans are offsets into ``key``."""
        doc_pos, items, item_pos = self._hits(key)
        if len(items) == 0:
            return []
        # Cheap screen: an item needs enough distinct hit positions before exact coverage is computed.
        pairs = np.unique(items * (1 << 32) + item_pos)
        cand, distinct = np.unique(pairs >> 32, return_counts=True)
        cand = cand[distinct >= self.min_hits[cand]]
        n, found = self.config.n, []
        for item in cand.tolist():
            sel = items == item
            covered = _merge(item_pos[sel], n)
            length = int(self.lengths[item])
            covered_chars = sum(min(b, length) - a for a, b in covered)
            run = max(min(b, length) - a for a, b in covered)
            share = covered_chars / length
            if share >= self.config.min_share or run >= self.config.long_run:
                # Doc spans: hits of this item, joined across small gaps (a changed character or label).
                found.append(Hit(self.benchmarks[item], self.item_ids[item], share, run, _merge(doc_pos[sel], n, gap=n)))
        return found

    def find(self, text: str) -> list[Hit]:
        """Items found in ``text``, with spans as offsets into ``text`` itself."""
        fast_key = self.keys.key(text)
        hits = self.find_in_key(fast_key)
        if not hits:  # fast path: most texts stop here
            return []
        key, offsets = self.keys.key_with_offsets(text)
        if key != fast_key:  # per-character NFKC differed (combining marks): match the key the offsets are for
            hits = self.find_in_key(key)
        for hit in hits:
            hit.spans = [(int(offsets[a]), int(offsets[min(b, len(offsets)) - 1]) + 1) for a, b in hit.spans]
        return hits


def fingerprint(items: list[Item], config: MatchConfig) -> str:
    """A digest of the items and the settings: an index on disk is reused only when it matches."""
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    for item in items:
        digest.update(f"{item.benchmark}\x00{item.item_id}\x00{item.text}\x01".encode())
    return digest.hexdigest()[:16]


def ensure_index(items: list[Item], folder: str | Path, config: MatchConfig = MatchConfig()) -> dict:
    """Build the index in ``folder`` unless an index of the same items and settings is already there."""
    meta_path = Path(folder) / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("fingerprint") == fingerprint(items, config) and meta.get("format") == FORMAT_VERSION:
            return meta
    return DecontIndex.build(items, folder, config)
