"""The learned quality score (0-5): train it, load it with its card, score documents, the step.

A model is a folder with two files:

* ``weights.npy``: float32 weights of the hashed character n-grams and, last, of the spam
  lexicon feature (plain ``.npy``, read with ``allow_pickle=False``; no pickle anywhere),
* ``card.json``: what the code needs to use them (format and version, hash size, text folding,
  bias, how a document is scored, the drop threshold and the bucket edges), the training data
  (file, rows, sha256) and the sha256 of ``weights.npy``.

:func:`load_model` refuses a folder whose card has another format or version than this code
reads, or whose weights do not match the card: a silently misread model would score every
document wrong. The default model ships in ``corpus/quality/default_model/`` with its
``MODEL_CARD.md`` (data, rubric, licence, grouped cross-validation, limits).

Documents vs excerpts: the labels are on ~1,000-character excerpts (500 characters from the start
of a document's first half and 500 from the start of its second half, line breaks collapsed).
``document_mode`` says how a longer document is scored: ``excerpt`` builds the same two-window
excerpt, ``windows`` averages the scores of up to ``MAX_WINDOWS`` consecutive 1,000-character
windows, ``whole`` scores the first ``MAX_CHARS`` characters at once (bench/quality.py compares them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
from datatrove.data import Document

from jinglian.corpus.quality import linear
from jinglian.corpus.stats import AccountedFilter, Verdict
from jinglian.runs import sha256_file

FORMAT = "jinglian-quality-linear"
VERSION = 2  # 2: the spam lexicon feature after the n-gram buckets
FOLDING = "whitespace+t2s+lower+digit0"  # linear.fold; a change there is a new VERSION
DOCUMENT_MODES = ("excerpt", "windows", "whole")
WINDOW_CHARS = 500  # the labelled excerpts: two pieces of 500 characters
MAX_WINDOWS = 8
MAX_CHARS = 10_000
DEFAULTS = {"bits": 18, "alpha": 0.3, "orders": list(linear.ORDERS)}


class ModelError(ValueError):
    """A model folder that this code cannot use (says which file and why)."""


def excerpt(text: str) -> str:
    """The labelled excerpts' shape: whole when short, else 500 + 500 characters of two halves."""
    text = " ".join(text.split())
    if len(text) <= 2 * WINDOW_CHARS:
        return text
    middle = len(text) // 2
    return text[:WINDOW_CHARS] + " " + text[middle : middle + WINDOW_CHARS]


def windows(text: str) -> list[str]:
    """Up to MAX_WINDOWS evenly spread 1,000-character windows of the folded text."""
    text = " ".join(text.split())
    size = 2 * WINDOW_CHARS
    if len(text) <= size:
        return [text]
    starts = range(0, len(text) - size + 1, size)
    if len(starts) > MAX_WINDOWS:
        step = (len(text) - size) / (MAX_WINDOWS - 1)
        starts = [round(i * step) for i in range(MAX_WINDOWS)]
    return [text[s : s + size] for s in starts]


def default_model_dir() -> Path:
    return Path(str(resources.files("jinglian.corpus.quality").joinpath("default_model")))


@dataclass
class QualityModel:
    weights: np.ndarray
    card: dict

    @property
    def bits(self) -> int:
        return self.card["bits"]

    def score_text(self, text: str) -> float:
        """The raw prediction for one excerpt-like text (about the 0-5 scale)."""
        return linear.predict(self.weights, self.card["bias"], text, self.bits)

    def score(self, text: str, mode: str | None = None) -> float:
        """A document's quality score on the 0-5 scale (clipped), by ``mode`` (card default)."""
        mode = mode or self.card["document_mode"]
        if mode == "excerpt":
            value = self.score_text(excerpt(text))
        elif mode == "windows":
            value = float(np.mean([self.score_text(w) for w in windows(text)]))
        elif mode == "whole":
            value = self.score_text(text[:MAX_CHARS])
        else:
            raise ValueError(f"unknown document mode {mode!r} (choose from {', '.join(DOCUMENT_MODES)})")
        return min(5.0, max(0.0, value))


def load_model(folder: str | Path | None = None) -> QualityModel:
    """Read ``card.json`` + ``weights.npy`` (None: the shipped default) and check they fit this code."""
    folder = Path(folder) if folder else default_model_dir()
    card_path, weights_path = folder / "card.json", folder / "weights.npy"
    for path in (card_path, weights_path):
        if not path.is_file():
            raise ModelError(f"quality model {folder}: {path.name} not found (train one with `jinglian quality train`)")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelError(f"{card_path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if card.get("format") != FORMAT or card.get("version") != VERSION:
        raise ModelError(
            f"{card_path}: model card says format {card.get('format')!r} version {card.get('version')!r}; "
            f"this jinglian reads {FORMAT!r} version {VERSION}: retrain with `jinglian quality train`"
        )
    if card.get("folding") != FOLDING or card.get("orders") != list(linear.ORDERS):
        raise ModelError(
            f"{card_path}: features {card.get('folding')!r} n-grams {card.get('orders')} differ from this "
            f"code's {FOLDING!r} {list(linear.ORDERS)}: retrain with `jinglian quality train`"
        )
    if sha256_file(weights_path) != card.get("weights_sha256"):
        raise ModelError(f"{weights_path}: sha256 differs from card.json's weights_sha256 (file changed or mixed up)")
    weights = np.load(weights_path, allow_pickle=False)
    expected = linear.n_features(card["bits"])
    if weights.shape != (expected,) or weights.dtype != np.float32:
        raise ModelError(f"{weights_path}: expected {expected} float32 weights, got {weights.shape} {weights.dtype}")
    return QualityModel(weights, card)


# ---------------------------------------------------------------- training


def read_labels(path: str | Path) -> tuple[list[str], list[float], str, dict]:
    """Texts and targets from a JSONL file: ``score`` 0-5 (annotate's output, hplt_zh_annotated)
    or binary ``label`` (1/0, true/false, keep/drop, good/bad). Records with ``score: null`` (an
    annotator reply that could not be parsed) are skipped and counted. Returns
    (texts, targets, target kind, counts)."""
    path = Path(path)
    texts: list[str] = []
    targets: list[float] = []
    kinds: set[str] = set()
    skipped = 0
    binary = {"1": 1, "0": 0, "true": 1, "false": 0, "keep": 1, "drop": 0, "good": 1, "bad": 0, "hq": 1, "lq": 0}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise ValueError(f"{path}:{lineno}: field 'text' missing or not a string")
            if "score" in record:
                score = record["score"]
                if score is None:
                    skipped += 1
                    continue
                if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 5:
                    raise ValueError(f"{path}:{lineno}: field 'score' must be 0-5 or null, got {score!r}")
                kinds.add("score")
                targets.append(float(score))
            elif "label" in record:
                label = binary.get(str(record["label"]).lower())
                if label is None:
                    raise ValueError(
                        f"{path}:{lineno}: field 'label' must be one of {', '.join(binary)}, got {record['label']!r}"
                    )
                kinds.add("binary")
                targets.append(5.0 * label)  # binary labels on the 0-5 scale: good 5, bad 0
            else:
                raise ValueError(f"{path}:{lineno}: needs a field 'score' (0-5) or 'label' (binary)")
            texts.append(record["text"])
    if len(kinds) > 1:
        raise ValueError(f"{path}: mixes 'score' and 'label' records; use one kind of label per file")
    return texts, targets, (kinds.pop() if kinds else "score"), {"rows": len(texts), "skipped_null_score": skipped}


def train_model(
    labels: str | Path,
    out: str | Path,
    *,
    threshold: float,
    buckets: list[float],
    document_mode: str = "excerpt",
    bits: int = DEFAULTS["bits"],
    alpha: float = DEFAULTS["alpha"],
    fraction: float = 1.0,
    seed: int = 0,
    extra: dict | None = None,
) -> dict:
    """Fit the ridge model on a labels file and write ``out/weights.npy`` + ``out/card.json``.

    Deterministic: the solver is exact and ``fraction`` < 1 takes a seeded sample, so the same
    data, options and seed give the same bytes. Returns the card.
    """
    if document_mode not in DOCUMENT_MODES:
        raise ValueError(f"unknown document mode {document_mode!r} (choose from {', '.join(DOCUMENT_MODES)})")
    texts, targets, target, counts = read_labels(labels)
    if fraction < 1.0:
        keep = np.sort(np.random.default_rng(seed).permutation(len(texts))[: round(fraction * len(texts))])
        texts, targets = [texts[i] for i in keep], [targets[i] for i in keep]
    if len(texts) < 20 or len(set(targets)) < 2:
        raise ValueError(f"{labels}: need at least 20 labelled texts with two different labels, got {len(texts)}")
    weights, bias = linear.fit_ridge(texts, targets, bits, alpha)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "weights.npy", weights, allow_pickle=False)
    card = {
        "format": FORMAT,
        "version": VERSION,
        "learner": "ridge regression (dual form, exact) on hashed character n-grams + spam lexicon feature",
        "folding": FOLDING,
        "orders": list(linear.ORDERS),
        "bits": bits,
        "lexicon": {"list": "spam_terms", "sha256": linear.lexicon_sha256()},
        "alpha": alpha,
        "bias": bias,
        "target": "score 0-5" if target == "score" else "binary label as 0 (bad) / 5 (good)",
        "document_mode": document_mode,
        "threshold": threshold,
        "buckets": sorted(buckets),
        "training_data": {
            "file": Path(labels).name,
            "sha256": sha256_file(Path(labels)),
            "fraction": fraction,
            "seed": seed,
            **counts,
            "used": len(texts),
        },
        "weights_sha256": sha256_file(out / "weights.npy"),
        **(extra or {}),
    }
    (out / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return card


# ---------------------------------------------------------------- the pipeline step


def bucket_of(score: float, edges: list[float]) -> int:
    """0 below the first edge, len(edges) at or above the last."""
    return sum(score >= e for e in edges)


class QualityStep(AccountedFilter):
    """Datatrove step: ``quality_score`` (0-5) and ``quality_bucket`` on every document; drop below
    ``min_score`` (reason ``min_quality_score``) when one is set."""

    name = "quality"

    def __init__(
        self,
        model: str | Path | None = None,
        min_score: float | None = None,
        buckets: list[float] | None = None,
        document_mode: str | None = None,
        rejects_dir: str | None = None,
    ):
        super().__init__(rejects_dir)
        self.model_dir = Path(model) if model else None
        card = self.model.card  # load now: a wrong model fails when the pipeline is built
        self.min_score = min_score
        self.buckets = sorted(buckets if buckets is not None else card["buckets"])
        self.document_mode = document_mode or card["document_mode"]
        if self.document_mode not in DOCUMENT_MODES:
            raise ValueError(
                f"unknown document_mode {self.document_mode!r} (choose from {', '.join(DOCUMENT_MODES)})"
            )

    @cached_property
    def model(self) -> QualityModel:
        return load_model(self.model_dir)

    def __getstate__(self) -> dict:  # workers load the model themselves (and check it again)
        return {k: v for k, v in self.__dict__.items() if k != "model"}

    def check(self, doc: Document) -> Verdict:
        score = round(self.model.score(doc.text, self.document_mode), 3)
        doc.metadata["quality_score"] = score
        doc.metadata["quality_bucket"] = bucket_of(score, self.buckets)
        if self.min_score is not None and score < self.min_score:
            return "min_quality_score", score
        return None
