"""Which learner and features for the quality score (issue 26): every variant tried, one table.

    .venv/bin/python bench/quality_variants.py      # about 4 CPU-minutes

Same labels and folds as bench/quality.py (hplt_zh_annotated; leave one group out over zho_Hans /
zho_Hant / yue_Hant, leave one HPLT batch out). The hashed n-gram counts are built once (the
shipped hash and text folding of corpus/quality/linear.py, per n-gram order) and every variant is
a kernel (Gram matrix) ridge fit on them, so a variant costs seconds. Columns: pooled out-of-fold
ROC-AUC of keep (score >= 3, kind none), Spearman with the score, and the share of score-0/1
excerpts below the threshold that keeps 90% / 95% of score >= 4 excerpts (the operating point
the issue's goal names, each at its own threshold).
"""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import numpy as np
from scipy import sparse

from jinglian.corpus.filters.blocklists import Blocklist
from jinglian.corpus.quality import linear

BITS = 18
_SHARES = {  # share of the non-whitespace characters
    "han": re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]"), "punct": re.compile(r"[，。！？；：、,.!?;:]"),
    "digit": re.compile(r"\d"), "latin": re.compile(r"[A-Za-z]"),
    "symbol": re.compile(r"[|/\\\-_=+*#@~<>»«【】\[\]()（）]"),
}


def _bench_quality():
    spec = importlib.util.spec_from_file_location("bench_quality", Path(__file__).with_name("quality.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def counts_by_order(texts: list[str]) -> dict[int, sparse.csr_matrix]:
    """Raw n-gram counts per order in the shipped hash buckets (2**BITS)."""
    saved, out = linear.ORDERS, {}
    try:
        for n in (1, 2, 3, 4):
            linear.ORDERS = (n,)
            indptr, indices, data = [0], [], []
            for text in texts:
                ids, values = linear.hashed_counts(text, BITS)
                indices.append(ids)
                data.append(np.expm1(values))
                indptr.append(indptr[-1] + len(ids))
            out[n] = sparse.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr),
                                       shape=(len(texts), 1 << BITS))
    finally:
        linear.ORDERS = saved
    return out


def dense_features(texts: list[str]) -> dict[str, np.ndarray]:
    spam = Blocklist(lists=["spam_terms"])
    cats = sorted({t.category for t in spam.terms.values()})
    rows = []
    for text in texts:
        total, per_cat, _ = spam.score(text)
        flat = "".join(text.split()) or " "
        rows.append([np.log1p(total)] + [np.log1p(per_cat.get(c, 0.0)) for c in cats]
                    + [len(p.findall(flat)) / len(flat) for p in _SHARES.values()])
    d = np.array(rows)
    return {"lexicon": d[:, :1], "lexicon_by_category": d[:, 1:1 + len(cats)], "shares": d[:, 1 + len(cats):]}


def design(counts, orders, dense=(), idf=False, dense_parts=None):
    x = sum(counts[n] for n in orders).tocsr()
    x.data = np.log1p(x.data)
    if idf:
        df = np.asarray((x > 0).sum(0)).ravel()
        x = x @ sparse.diags(np.log((1 + x.shape[0]) / (1 + df)) + 1)  # unsupervised: no labels
    norms = np.sqrt(np.asarray(x.multiply(x).sum(1)).ravel())
    x = sparse.diags(1 / np.where(norms > 0, norms, 1)) @ x
    if dense:
        x = sparse.hstack([x, sparse.csr_matrix(np.hstack([dense_parts[k] for k in dense]))])
    return x.tocsr()


def ridge_dual(gram, target, alpha):
    bias = target.mean()
    g = gram.copy()
    g[np.diag_indices_from(g)] += alpha
    return np.linalg.solve(g, target - bias), bias


def out_of_fold(x, folds, fit):
    oof = np.zeros(x.shape[0])
    for value in sorted(set(folds.tolist())):
        test, train = np.where(folds == value)[0], np.where(folds != value)[0]
        gram = (x[train] @ x[train].T).toarray()
        cross = (x[test] @ x[train].T).toarray()
        oof[test] = fit(gram, cross, train)
    return oof


def main() -> None:
    bq = _bench_quality()
    rows = bq.load_excerpts()
    texts = [r["text"] for r in rows]
    y = np.array([r["score"] for r in rows], dtype=float)
    keep = np.array([r["score"] >= 3 and r["kind"] == "none" for r in rows])
    c0 = time.process_time()
    counts, dense = counts_by_order(texts), dense_features(texts)
    print(f"features of {len(rows)} excerpts: {time.process_time() - c0:.0f} CPU-s")

    def regress(alpha, target=y):
        return lambda gram, cross, tr: cross @ ridge_dual(gram, target[tr], alpha)[0] + target[tr].mean()

    def cumulative(alpha):  # E[score] = sum_k P(score >= k), each a least-squares fit
        def fit(gram, cross, tr):
            return sum(np.clip(regress(alpha, (y >= k).astype(float))(gram, cross, tr), 0, 1) for k in range(1, 6))
        return fit

    def junk_clipped(alpha, weight):
        def fit(gram, cross, tr):
            junk = np.clip(regress(alpha, (y <= 1).astype(float))(gram, cross, tr), 0, 1)
            return regress(alpha)(gram, cross, tr) - weight * junk
        return fit

    ng = (1, 2, 3)
    variants = [
        ("1-3-grams, λ 1 (first helper's model)", dict(orders=ng), regress(1.0)),
        ("1-3-grams, λ 0.3", dict(orders=ng), regress(0.3)),
        ("1-3-grams, λ 0.1", dict(orders=ng), regress(0.1)),
        ("1-3-grams, λ 0.03", dict(orders=ng), regress(0.03)),
        ("1-3-grams tf-idf, λ 0.3", dict(orders=ng, idf=True), regress(0.3)),
        ("1-grams, λ 0.3", dict(orders=(1,)), regress(0.3)),
        ("1-2-grams, λ 0.3", dict(orders=(1, 2)), regress(0.3)),
        ("1-4-grams, λ 0.3", dict(orders=(1, 2, 3, 4)), regress(0.3)),
        ("1-3 + lexicon, λ 0.3 (shipped)", dict(orders=ng, dense=("lexicon",)), regress(0.3)),
        ("1-3 + lexicon, λ 1", dict(orders=ng, dense=("lexicon",)), regress(1.0)),
        ("1-3 + lexicon by category", dict(orders=ng, dense=("lexicon_by_category",)), regress(0.3)),
        ("1-3 + lexicon + char shares", dict(orders=ng, dense=("lexicon", "shares")), regress(0.3)),
        ("1-3 + lexicon, keep vs not (0/5)", dict(orders=ng, dense=("lexicon",)), regress(0.3, 5.0 * keep)),
        ("1-3 + lexicon, 0.7 score + 0.3 keep", dict(orders=ng, dense=("lexicon",)),
         regress(0.3, 0.7 * y + 1.5 * keep)),
        ("1-3 + lexicon, sum of P(score>=k)", dict(orders=ng, dense=("lexicon",)), cumulative(0.3)),
        ("1-3 + lexicon, score - 1 x junk fit", dict(orders=ng, dense=("lexicon",)), junk_clipped(0.3, 1.0)),
    ]
    print(f"\n{'variant':<40} {'by group: AUC  Spear  drop@90 drop@95':<38} {'by batch: AUC  Spear  drop@90 drop@95':<38} cpu s")
    for name, spec, fit in variants:
        c0 = time.process_time()
        x = design(counts, dense_parts=dense, **spec)
        cells = []
        for key in ("group", "batch"):
            oof = out_of_fold(x, np.array([r[key] for r in rows]), fit)
            good = oof[y >= 4]
            drop = [float((oof[y <= 1] < np.quantile(good, q)).mean()) for q in (0.10, 0.05)]
            cells.append(f"{bq.auc(keep, oof):>13.3f} {bq.spearman(oof, y):>6.3f} {drop[0]:>7.1%} {drop[1]:>7.1%}")
        print(f"{name:<40} {cells[0]:<38} {cells[1]:<38} {time.process_time() - c0:>5.0f}", flush=True)


if __name__ == "__main__":
    main()
