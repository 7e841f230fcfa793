"""Choose one candidate main text per page from a few explainable features, with a tiny linear model.

Features of each candidate (all scale-free, so a long page and a short one compare):

- ``agree``: mean character-bigram-set F1 (:func:`agreement`) with the other candidates (extractors that fail, fail
  differently; the text the others also found is most often the main text);
- ``short`` / ``long``: how many times (log2, capped at :data:`MAX_OCTAVES`) its Hanzi count is below /
  above the median of the candidates'. Two one-sided features, not one signed length: too short is a
  fragment, too long is a page with its menus, and a single signed weight flipped sign when one dev
  page (a short poem) was left out;
- ``punct``: Chinese punctuation marks per Hanzi, x10 (prose about 1.2, menus near 0);
- ``links``: share of its characters in lines that are exactly the text of a link on the page;
- ``short_lines``: share of its lines shorter than :data:`SHORT_LINE` characters;
- ``boiler``: boilerplate markers (版权所有, 上一篇, 登录 ...) per 1,000 characters, capped at 5.

The score is ``w . features + prior[extractor]``; the highest wins. The priors are a fixed order
(:data:`PRIORS`: readability, then trafilatura, then resiliparse), not learned: fit on the articles
the learned prior favours readability, fit on the forum pages it favours resiliparse, so a learned
prior is a property of the set it was fit on, not of the extractor (``bench/extract.py``, fit on
two sets and tested on the third, lost 0.08 F1 on the articles that way). ``readability+confirmed``
shares readability's prior, so a candidate built from another is not an unknown to the model.

The feature weights are fit the hard way (:func:`fit_across`): once per set of pages (modern
articles, forums, GBK pages), each fit a pairwise logistic regression with the priors as fixed
offsets; a feature is kept only where every fit gives it the same sign, at the smallest size any
fit gives it. On the three dev sets only ``punct`` holds (0.088 / 0.150 / 0.031 on articles,
forums, GBK): ``long`` and ``boiler`` matter on articles and GBK pages but not on forums, where
``short`` is the one that matters (a reply list is long), so all of them are dropped. Each weight also keeps the sign of what
it measures (:data:`SIGNS`). The result is in ``selector.json`` beside this file, refit with
``python bench/extract.py --train-selector``; the bench reports it leave-one-page-out and
leave-one-set-out, and how many pages' choice those fits change.

Which candidates compete is decided before the selector (:mod:`jinglian.corpus.extract.page`):
only those with some Hanzi, so a copyright line or an empty template never wins over a text.
"""

from __future__ import annotations

import functools
import json
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from jinglian.corpus.extract.candidates import HAN, ZH_PUNCT, bigram_set, squash

WEIGHTS_FILE = Path(__file__).with_name("selector.json")
FEATURES = ("agree", "short", "long", "punct", "links", "short_lines", "boiler")
SHORT_LINE = 10  # characters; menu items, breadcrumbs and bylines are shorter
MAX_BOILER = 5.0  # markers per 1,000 characters, the cap
MAX_OCTAVES = 2.0  # cap of short/long: 4x shorter or longer than the median is as bad as it gets
# The fixed order of trust in the extractors (see the module doc): readability's text is the most
# precise on every set, trafilatura's next, resiliparse's keeps the most chrome.
PRIORS = {"readability": 0.3, "trafilatura": 0.0, "resiliparse": -0.3}
MIN_GAP = 0.02  # F1 difference below which two candidates count as equally good (not trained on)
L2 = 0.5  # ridge penalty per weight; at 0.1 one left-out page still changed its choice
# The direction each feature may push a candidate, known from what it measures; training sets only
# the size. Unconstrained, ``short`` came out positive once the candidates were mostly readability
# vs resiliparse (the shorter of the two is usually right), which would favour fragments elsewhere.
SIGNS = {"agree": 1, "short": -1, "long": -1, "punct": 1, "links": -1, "short_lines": -1, "boiler": -1}
BOILERPLATE = re.compile(
    "版权所有|版权声明|上一篇|下一篇|上一页|下一页|返回首页|返回顶部|登录|注册|免责声明|联系我们|"
    "关于我们|网站地图|友情链接|ICP备|Copyright|All Rights Reserved|分享到|扫一扫|相关阅读|相关新闻|热门推荐",
    re.I,
)


def bigram_f1(predicted: str, gold: str) -> float:
    """F1 of the character-bigram multisets of two texts, whitespace removed (the bench's score)."""
    a, b = squash(predicted), squash(gold)
    pred = Counter(a[i : i + 2] for i in range(len(a) - 1))
    ref = Counter(b[i : i + 2] for i in range(len(b) - 1))
    overlap = sum((pred & ref).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def agreement(a: str, b: str) -> float:
    """F1 of the character-bigram *sets* of two texts: the bench's score without counts, 10x cheaper."""
    a, b = bigram_set(a), bigram_set(b)
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


@dataclass
class PageSignals:
    """What the features need from the page itself: its link texts; and its title, for the list rule."""

    link_texts: set[str] = field(default_factory=set)
    title: str = ""

    @classmethod
    def from_tree(cls, tree, title: str = "") -> PageSignals:
        links = {squash(a.text_content()) for a in tree.iter("a")}
        return cls({t for t in links if len(t) >= 2}, title)


# A list item around a link: a bullet or number before it, a date or time after it.
_ITEM_BULLET = re.compile(r"^(?:[-*•·▪►]|\d{1,3}[.、)])")
_ITEM_DATE = re.compile(r"[\[(（]?(?:\d{2,4}[-/.年])?\d{1,2}[-/.月]\d{1,2}日?(?:\d{1,2}:\d{2})?[\])）]?$")


def is_link_line(line: str, link_texts: set[str] | frozenset[str]) -> bool:
    """A (squashed) line that is the text of a link on the page, once a list bullet before it
    and a date after it are taken off (``- 标题2024-05-20``, ``1. 标题``)."""
    if line in link_texts:
        return True
    bare = _ITEM_DATE.sub("", _ITEM_BULLET.sub("", line))
    return bare != line and bare in link_texts


@functools.lru_cache(maxsize=64)
def text_counts(text: str) -> tuple[tuple[str, ...], int, int, int]:
    """Squashed non-empty lines, Hanzi, Chinese punctuation and boilerplate markers of a text;
    cached for the few texts of the page at hand (a candidate is counted again when it wins)."""
    lines = tuple(line for line in map(squash, text.splitlines()) if line)
    return lines, len(HAN.findall(text)), len(ZH_PUNCT.findall(text)), len(BOILERPLATE.findall(text))


def text_features(text: str, signals: PageSignals) -> dict[str, float]:
    """The features of one text that do not depend on the other candidates."""
    lines, han, punct, boiler = text_counts(text)
    chars = sum(map(len, lines)) or 1
    return {
        "han": han,
        "punct": 10 * punct / max(han, 1),
        "links": sum(len(line) for line in lines if is_link_line(line, signals.link_texts)) / chars,
        "short_lines": sum(len(line) < SHORT_LINE for line in lines) / max(len(lines), 1),
        "boiler": min(MAX_BOILER, 1000 * boiler / chars),
    }


def candidate_features(
    texts: dict[str, str], signals: PageSignals, needed: tuple[str, ...] = FEATURES
) -> dict[str, dict[str, float]]:
    """Features of every candidate, the cross-candidate ones (agreement, length) included;
    ``agree``, the costly one (bigram sets of every text), only when ``needed``."""
    own = {name: text_features(text, signals) for name, text in texts.items()}
    median_han = statistics.median(f["han"] for f in own.values())
    features = {}
    for name in texts:
        others = [agreement(texts[name], texts[o]) for o in texts if o != name] if "agree" in needed else []
        f = own[name]
        octaves = math.log2((f["han"] + 1) / (median_han + 1))
        features[name] = {
            "agree": sum(others) / len(others) if others else 1.0,
            "short": min(max(-octaves, 0.0), MAX_OCTAVES),
            "long": min(max(octaves, 0.0), MAX_OCTAVES),
            **{k: f[k] for k in FEATURES if k in f},
        }
    return features


@dataclass
class Selector:
    weights: dict[str, float]
    priors: dict[str, float]

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Selector:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["weights"], data["priors"])

    def save(self, path: Path = WEIGHTS_FILE, note: str = "") -> None:
        data = {"note": note, "features": list(FEATURES), "weights": self.weights, "priors": self.priors}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def score(self, name: str, features: dict[str, float]) -> float:
        return self.priors.get(base_extractor(name), 0.0) + sum(
            self.weights[k] * features[k] for k in FEATURES if self.weights[k]
        )

    def used(self) -> tuple[str, ...]:
        """The features with a weight: the others need not be computed."""
        return tuple(k for k in FEATURES if self.weights.get(k))

    def choose(self, features: dict[str, dict[str, float]]) -> tuple[str, dict[str, float]]:
        scores = {name: round(self.score(name, f), 3) for name, f in features.items()}
        return max(scores, key=scores.get), scores


def base_extractor(name: str) -> str:
    """``readability+confirmed`` -> ``readability``: the extractor whose prior a candidate takes."""
    return name.split("+")[0]


def _vector(name: str, features: dict[str, float], names: list[str]) -> list[float]:
    return [features[k] for k in FEATURES] + [float(base_extractor(name) == n) for n in names]


def train_selector(
    pages: list[tuple[dict[str, dict[str, float]], dict[str, float]]],
    priors: bool | dict[str, float] = True,
    steps: int = 3000,
    lr: float = 0.5,
) -> Selector:
    """Fit the weights on ``(features per candidate, F1 per candidate)`` of each page.

    Pairwise logistic regression without intercept on feature differences (numpy, full-batch
    gradient descent, ridge :data:`L2`, each feature weight kept to its sign in :data:`SIGNS`).
    ``priors``: True learns one more weight per base extractor, False uses none, a dict holds them
    fixed (an offset per pair, as :func:`fit_across` does).
    """
    import numpy as np

    fixed = priors if isinstance(priors, dict) else None
    names = sorted({base_extractor(n) for feats, _ in pages for n in feats}) if priors is True else []
    diffs = []
    for feats, f1 in pages:
        for a in feats:
            for b in feats:
                if f1[a] - f1[b] > MIN_GAP:
                    weight = f1[a] - f1[b]  # a big loss matters more than a near tie
                    va, vb = _vector(a, feats[a], names), _vector(b, feats[b], names)
                    offset = (
                        fixed.get(base_extractor(a), 0.0) - fixed.get(base_extractor(b), 0.0)
                        if fixed
                        else 0.0
                    )
                    diffs.append(([x - y for x, y in zip(va, vb, strict=True)], weight, offset))
    if not diffs:
        return Selector(dict.fromkeys(FEATURES, 0.0), dict(fixed or dict.fromkeys(names, 0.0)))
    x = np.array([d for d, _, _ in diffs])
    sample_weight = np.array([w for _, w, _ in diffs])
    sample_weight /= sample_weight.sum()
    offsets = np.array([o for _, _, o in diffs])
    w = np.zeros(x.shape[1])
    k = len(FEATURES)
    signs = np.array([SIGNS[f] for f in FEATURES])
    for _ in range(steps):
        margin = x @ w + offsets
        grad = -(x * (sample_weight / (1 + np.exp(margin)))[:, None]).sum(0) + L2 * w
        w -= lr * grad
        w[:k] = np.where(w[:k] * signs < 0, 0.0, w[:k])  # projected gradient: a wrong sign becomes 0
    return Selector(
        {f: round(float(v), 4) for f, v in zip(FEATURES, w[:k], strict=True)},
        dict(fixed) if fixed else {n: round(float(v), 4) for n, v in zip(names, w[k:], strict=True)},
    )


def fit_across(groups: list[list[tuple[dict[str, dict[str, float]], dict[str, float]]]]) -> Selector:
    """The selector that holds across sets of pages: one fit per set (priors fixed to
    :data:`PRIORS`); a feature keeps the smallest weight the fits give it where all give it the
    same sign, and is dropped (0) where any fit leaves it out. Sets without training pairs are skipped."""
    fits = [train_selector(pages, priors=PRIORS) for pages in groups if pages]
    weights = {}
    for f in FEATURES:
        values = [fit.weights[f] for fit in fits]
        same_sign = values and (all(v > 0 for v in values) or all(v < 0 for v in values))
        weights[f] = min(values, key=abs) if same_sign else 0.0
    return Selector(weights, dict(PRIORS))
