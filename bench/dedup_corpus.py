"""The corpus of bench/dedup.py: near-duplicate Chinese documents with planted pairs and their true Jaccard.

~700-character documents assembled from real sentences (cmrc2018 paragraphs in ../shared/data, else
the sample generator's sentences); a fifth of them are planted variants of another one: character
edits at known rates, 繁体 + ASCII punctuation, swapped sentences, whitespace-only copies. True
Jaccard is brute force on the character 5-grams of the normalized text (``dedup_key``), the measure
every engine is scored against. Kept apart from the engines so bench/dedup.py stays one concept:
running and scoring them.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "text" / "cmrc2018_dev_paragraphs.jsonl"
NGRAM = 5  # true Jaccard's n-gram; the engines are run with the same n
EDIT_RATES = [0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.06, 0.08, 0.12, 0.2]


# --- corpus ------------------------------------------------------------------------------------


def sentences() -> list[str]:
    if SHARED.exists():
        text = "".join(json.loads(line)["text"] for line in SHARED.open(encoding="utf-8"))
    else:
        from jinglian.corpus.sample import TOPICS

        text = "".join(s for bank in TOPICS.values() for s in bank)
    return [s for s in re.findall(r"[^。！？]+[。！？]", text) if len(s) >= 8]


def char_edit(rng: random.Random, text: str, rate: float, alphabet: str) -> str:
    out = []
    for c in text:
        r = rng.random()
        if r < rate / 3:
            out.append(rng.choice(alphabet))
        elif r < 2 * rate / 3:
            out += [c, rng.choice(alphabet)]
        elif r >= rate:
            out.append(c)
    return "".join(out)


def build_corpus(folder: Path, n_docs: int, seed: int, files: int) -> tuple[DiskDocs, list[dict]]:
    """Write the documents as JSONL files of contiguous blocks (file order is document order, ids are
    document indexes) and return them read back by index, with the planted pairs ``{"a", "b", "kind",
    "param", "true_j"}``. Streamed: the driver keeps each base document as sentence indexes (about 90
    bytes), not as text, so a 5M-document corpus needs no 15 GB of strings."""
    from array import array

    import opencc

    from jinglian.corpus.dedup.shingles import dedup_key

    s2t = opencc.OpenCC("s2t")
    rng = random.Random(seed)
    bank = sentences()
    alphabet = "".join(sorted({c for s in bank[:3000] for c in s if "\u4e00" <= c <= "\u9fff"}))
    folder.mkdir()
    bounds = [k * n_docs // files for k in range(files + 1)]
    offsets, handles = array("q"), [(folder / f"{k:03d}.jsonl").open("wb") for k in range(files)]

    def write(i: int, text: str) -> None:
        f = handles[sum(b <= i for b in bounds[1:-1])]
        offsets.append(f.tell())
        f.write((json.dumps({"id": str(i), "text": text}, ensure_ascii=False) + "\n").encode())

    flat, starts = array("i"), array("q", [0])  # base document i = bank[flat[starts[i]:starts[i+1]]]
    n_base = n_docs * 4 // 5
    for i in range(n_base):
        size = 0
        while size < 650:
            flat.append(rng.randrange(len(bank)))  # the draw of rng.choice(bank)
            size += len(bank[flat[-1]])
        starts.append(len(flat))
        write(i, "".join(bank[k] for k in flat[starts[i]:starts[i + 1]]))
    planted = []
    for a in rng.sample(range(n_base), n_docs - n_base):
        parts, kind = [bank[k] for k in flat[starts[a]:starts[a + 1]]], rng.choices(["edit", "trad", "sentences", "exact"], [5, 2, 2, 1])[0]
        if kind == "edit":
            param = rng.choice(EDIT_RATES)
            text = char_edit(rng, "".join(parts), param, alphabet)
        elif kind == "trad":
            param = rng.choice([0.0, 0.005, 0.01])
            text = (
                s2t.convert(char_edit(rng, "".join(parts), param, alphabet))
                .replace("，", ", ")
                .replace("。", ". ")
            )
        elif kind == "sentences":
            param = rng.randint(1, 4)
            swapped = list(parts)
            for i in rng.sample(range(len(swapped)), min(param, len(swapped))):
                swapped[i] = rng.choice(bank)
            text = "".join(swapped)
        else:
            param = 0
            text = "\n".join(parts) + "\n"
        b = n_base + len(planted)
        true_j = true_jaccard({a: dedup_key("".join(parts)), b: dedup_key(text)}, a, b, cache=False)
        planted.append({"a": a, "b": b, "kind": kind, "param": param, "true_j": true_j})
        write(b, text)
    for f in handles:
        f.close()
    return DiskDocs(folder, bounds, offsets), planted


class DiskDocs:
    """The corpus read back by document index from its JSONL files (only the offsets are held)."""

    def __init__(self, folder: Path, bounds: list[int], offsets):
        self.paths = [folder / f"{k:03d}.jsonl" for k in range(len(bounds) - 1)]
        self.bounds, self.offsets = bounds, offsets

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, i: int) -> str:
        k = sum(b <= i for b in self.bounds[1:-1])
        with self.paths[k].open("rb") as f:
            f.seek(self.offsets[i])
            return json.loads(f.readline())["text"]

    def __iter__(self):
        for path in self.paths:
            with path.open(encoding="utf-8") as f:
                yield from (json.loads(line)["text"] for line in f)


# --- ground truth ------------------------------------------------------------------------------


_SETS: dict[int, set[str]] = {}


class LazyKeys:
    """Dedup keys computed when brute force needs them (a 1M-document run needs only a few)."""

    def __init__(self, docs):
        self.docs = docs

    def __getitem__(self, i: int) -> str:
        from jinglian.corpus.dedup.shingles import dedup_key

        return dedup_key(self.docs[i])


def true_jaccard(keys, a: int, b: int, cache: bool = True) -> float:
    """Brute force: exact Jaccard of the two 5-gram sets (cached only where few documents recur)."""
    from jinglian.corpus.dedup.shingles import jaccard

    sets = []
    for i in (a, b):
        found = _SETS.get(i)
        if found is None:
            key = keys[i]
            found = {key[p : p + NGRAM] for p in range(len(key) - NGRAM + 1)}
            if cache:
                _SETS[i] = found
        sets.append(found)
    return jaccard(*sets)
