"""A fastText quality classifier for Chinese: train it on good/bad examples, score, filter.

Chinese has no spaces, so fastText (which splits on whitespace) must be shown segmented text:

* ``jieba``: jieba words (``HMM=False``) joined by spaces, with word bigrams (``wordNgrams=2``);
* ``char``: every character its own token, with character bigrams and trigrams (``wordNgrams=3``).

``train_quality_model`` trains both on the same split and keeps the one with the better F1 on a
validation part when ``segmentation="auto"``, then reports precision / recall / F1 of the chosen
model on a held-out test part it never saw (train 70% / validation 15% / test 15%, stratified,
seeded). The choice is recorded beside the model in ``<model>.json`` (segmentation, labels,
metrics), which :class:`QualityScorer` reads, so a model is always scored the way it was trained.

Scores: ``quality_score`` = probability of the positive label (``__label__hq``) in [0, 1]. With a
threshold (profile ``quality_model: {path, min_score}``) documents below it are dropped with
reason ``min_quality_score``; without one (``jinglian quality score``) nothing is dropped.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from datatrove.data import Document

from jinglian.corpus.langid import fasttext_predict, load_fasttext
from jinglian.corpus.stats import AccountedFilter, Verdict

POSITIVE, NEGATIVE = "hq", "lq"
SEGMENTATIONS = ("jieba", "char")
# fastText sees at most this many characters of a document: quality shows in the first pages,
# and it bounds the cost of a multi-megabyte document.
MAX_CHARS = 5000
MIN_DOCS_PER_CLASS = 20


def segment(text: str, mode: str) -> str:
    """One line of space-separated tokens for fastText."""
    text = " ".join(text[:MAX_CHARS].split())  # newlines and runs of spaces → one space
    if mode == "char":
        return " ".join(c for c in text if not c.isspace())
    if mode == "jieba":
        import jieba

        jieba.setLogLevel(60)
        return " ".join(w for w in jieba.lcut(text, HMM=False) if not w.isspace())
    raise ValueError(f"unknown segmentation {mode!r} (choose from {', '.join(SEGMENTATIONS)})")


@dataclass
class Metrics:
    precision: float
    recall: float
    f1: float
    accuracy: float
    n: int


def evaluate(model, texts: list[str], labels: list[int], mode: str, threshold: float = 0.5) -> Metrics:
    """Precision/recall/F1 of the positive class (label 1 = good) at ``threshold``."""
    predicted = [int(positive_probability(model, segment(t, mode)) >= threshold) for t in texts]
    tp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and y)
    fp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and not y)
    fn = sum(1 for p, y in zip(predicted, labels, strict=True) if not p and y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = (
        sum(1 for p, y in zip(predicted, labels, strict=True) if p == y) / len(labels) if labels else 0.0
    )
    return Metrics(round(precision, 4), round(recall, 4), round(f1, 4), round(accuracy, 4), len(labels))


def positive_probability(model, segmented: str) -> float:
    for label, prob in fasttext_predict(model, segmented, k=2):
        if label == POSITIVE:
            return prob
    return 0.0


def _split(items: list, rng: random.Random) -> tuple[list, list, list]:
    items = items[:]
    rng.shuffle(items)
    n_test = max(1, round(0.15 * len(items)))
    n_valid = max(1, round(0.15 * len(items)))
    return items[n_test + n_valid :], items[n_test : n_test + n_valid], items[:n_test]


def _fit(train: list[tuple[str, int]], mode: str, epoch: int, seed: int):
    import fasttext

    fd, path = tempfile.mkstemp(suffix=".txt", prefix="jinglian-quality-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for text, label in train:
                f.write(f"__label__{POSITIVE if label else NEGATIVE} {segment(text, mode)}\n")
        return fasttext.train_supervised(
            input=path,
            epoch=epoch,
            lr=0.5,
            wordNgrams=2 if mode == "jieba" else 3,
            dim=64,
            minCount=1,
            bucket=200_000,
            loss="softmax",
            thread=1,
            seed=seed,
            verbose=0,
        )
    finally:
        os.unlink(path)


@dataclass
class TrainReport:
    model_path: str
    segmentation: str
    validation: dict[str, dict]
    test: dict
    n_train: int
    n_valid: int
    n_test: int


def train_quality_model(
    positives: list[str],
    negatives: list[str],
    out: str | Path,
    segmentation: str = "auto",
    epoch: int = 25,
    seed: int = 0,
) -> TrainReport:
    """Train, pick the segmentation (``auto``), save ``out`` and ``out.json``, report test metrics."""
    if segmentation not in ("auto", *SEGMENTATIONS):
        raise ValueError(
            f"unknown segmentation {segmentation!r} (choose from auto, {', '.join(SEGMENTATIONS)})"
        )
    for name, docs in (("positive", positives), ("negative", negatives)):
        if len(docs) < MIN_DOCS_PER_CLASS:
            raise ValueError(
                f"need at least {MIN_DOCS_PER_CLASS} {name} documents to train and hold some out, got {len(docs)}"
            )
    rng = random.Random(seed)
    pos, neg = _split([(t, 1) for t in positives], rng), _split([(t, 0) for t in negatives], rng)
    train, valid, test = (pos[i] + neg[i] for i in range(3))
    rng.shuffle(train)
    candidates = SEGMENTATIONS if segmentation == "auto" else (segmentation,)
    models, scores = {}, {}
    for mode in candidates:
        models[mode] = _fit(train, mode, epoch, seed)
        scores[mode] = asdict(evaluate(models[mode], [t for t, _ in valid], [y for _, y in valid], mode))
    best = max(candidates, key=lambda m: (scores[m]["f1"], m == "char"))  # tie: char (no jieba cost)
    test_metrics = asdict(evaluate(models[best], [t for t, _ in test], [y for _, y in test], best))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    models[best].save_model(str(out))
    report = TrainReport(str(out), best, scores, test_metrics, len(train), len(valid), len(test))
    sidecar = {"segmentation": best, "positive_label": POSITIVE, "negative_label": NEGATIVE, **asdict(report)}
    Path(f"{out}.json").write_text(json.dumps(sidecar, ensure_ascii=False, indent=2), encoding="utf-8")
    return report


def read_segmentation(model_path: str | Path, segmentation: str | None = None) -> str:
    """The segmentation a model was trained with: given, else from ``<model>.json``."""
    if segmentation:
        if segmentation not in SEGMENTATIONS:
            raise ValueError(
                f"unknown segmentation {segmentation!r} (choose from {', '.join(SEGMENTATIONS)})"
            )
        return segmentation
    sidecar = Path(f"{model_path}.json")
    if not sidecar.is_file():
        raise FileNotFoundError(
            f"{sidecar} not found: it records how the model segments text (write it, or set "
            f"quality_model.segmentation to jieba or char)"
        )
    return json.loads(sidecar.read_text(encoding="utf-8"))["segmentation"]


class QualityScorer(AccountedFilter):
    """Datatrove step: record ``quality_score``; drop below ``min_score`` when one is given."""

    name = "quality"

    def __init__(
        self,
        model_path: str | Path,
        min_score: float | None = None,
        segmentation: str | None = None,
        rejects_dir: str | None = None,
    ):
        super().__init__(rejects_dir)
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise FileNotFoundError(f"quality model not found: {self.model_path}")
        self.segmentation = read_segmentation(self.model_path, segmentation)
        self.min_score = min_score

    @cached_property
    def model(self):  # loaded in each worker: fastText models do not pickle
        return load_fasttext(self.model_path)

    def __getstate__(self) -> dict:  # a loaded model stays behind; the worker loads its own
        return {k: v for k, v in self.__dict__.items() if k != "model"}

    def score(self, text: str) -> float:
        return positive_probability(self.model, segment(text, self.segmentation))

    def check(self, doc: Document) -> Verdict:
        score = round(self.score(doc.text), 4)
        doc.metadata["quality_score"] = score
        if self.min_score is not None and score < self.min_score:
            return "min_quality_score", score
        return None
