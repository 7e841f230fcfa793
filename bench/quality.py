"""Benchmark of the learned quality score (issue 26): grouped cross-validation, learning curve,
document scoring, and the shipped zh-web profile on every other real set beside rules-only zh-web
and datatrove's FineWeb-2 chain.

    .venv/bin/python bench/quality.py                     # the whole report (a few CPU-minutes)
    .venv/bin/python bench/quality.py --learners ridge    # skip the fastText learners
    .venv/bin/python bench/quality.py --retrain-default   # rewrite corpus/quality/default_model/

Labels: ../shared/data/quality/hplt_zh_annotated/excerpts.jsonl (2,037 HPLT v2 excerpts, 0-5 LLM
scores, kind, group zho_Hans / zho_Hant / yue_Hant, HPLT batch 0-4). "keep" = score >= 3 and kind
none. Folds never put one group on both sides: leave-one-group-out over the three groups, and
leave-one-batch-out over the five batches. Metrics are on the pooled out-of-fold predictions
(ROC-AUC of keep, Spearman with the 0-5 score), with the per-fold AUC beside them.

Learners, same folds, same text folding (whitespace collapsed, OpenCC t2s, lower case, digits 0):
- ridge: ridge regression of the score on hashed character 1-3-grams (corpus/quality/linear.py);
- fasttext-char / fasttext-jieba: fastText supervised on the six score labels (characters with
  word n-grams 3, or jieba words with word n-grams 2), score = expected label.

The shipped threshold is chosen on the leave-one-group-out predictions of the shipped learner:
the highest score (step 0.05) that keeps >= 99.5% of the score >= 4 excerpts (losing good text of
an unseen source is what the held-out goals punish; the rules keep catching the certain junk),
then capped (step 0.05) so the freshly trained model alone keeps >= 97% of every clean real set
with that goal (all of them at once, never one set). The variants tried before choosing the
learner: bench/quality_variants.py.

The real sets and the datatrove chain come from bench/filters.py (same loading, same FineWeb-2
cmn_Hani thresholds). Speed: each engine in its own process pinned to one core, CPU seconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LABELS = SHARED / "quality" / "hplt_zh_annotated" / "excerpts.jsonl"
DEFAULT_DIR = ROOT / "corpus" / "quality" / "default_model"
# The threshold keeps at least this share of score >= 4 excerpts of an unseen group (leave-one-group-
# out). 0.90 (threshold 2.3) was tried first: full clean documents lost 7-60% per set (news scores
# low), on several sets, so the rule protects good text: the score drops only what it is sure of.
KEEP_GOOD = 0.995
# The threshold from the labels is then capped so the model alone keeps this share of every clean
# real set (the goal for them): 1.4 dropped one short dry news dispatch of 23 gbk pages.
KEEP_CLEAN = 0.97
DOCUMENT_MODE = "whole"  # measured against excerpt / windows on the full-document sets (bench)


def _bench_filters():
    spec = importlib.util.spec_from_file_location("bench_filters", Path(__file__).with_name("filters.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ labels and metrics


def load_excerpts() -> list[dict]:
    with open(LABELS, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def auc(positive: np.ndarray, scores: np.ndarray) -> float:
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    n1 = int(positive.sum())
    n0 = len(positive) - n1
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)) if n1 and n0 else float("nan")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


# ------------------------------------------------------------------ learners


def ridge_learner(train_texts, train_scores, test_texts, lexicon: bool = True):
    from jinglian.corpus.quality import linear
    from jinglian.corpus.quality.model import DEFAULTS

    weights, bias = linear.fit_ridge(train_texts, train_scores, DEFAULTS["bits"], DEFAULTS["alpha"], lexicon)
    return np.array([linear.predict(weights, bias, t, DEFAULTS["bits"]) for t in test_texts])


def ridge_ngrams_learner(train_texts, train_scores, test_texts):
    """The shipped learner without the spam lexicon feature (what it adds)."""
    return ridge_learner(train_texts, train_scores, test_texts, lexicon=False)


def fasttext_learner(mode: str):
    def learn(train_texts, train_scores, test_texts):
        import os

        import fasttext

        from jinglian.corpus.langid import fasttext_predict
        from jinglian.corpus.quality.classifier import segment
        from jinglian.corpus.quality.linear import fold

        fd, path = tempfile.mkstemp(suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for text, score in zip(train_texts, train_scores, strict=True):
                f.write(f"__label__{int(score)} {segment(fold(text), mode)}\n")
        model = fasttext.train_supervised(
            input=path, epoch=25, lr=0.5, wordNgrams=2 if mode == "jieba" else 3, dim=64, minCount=1,
            bucket=200_000, thread=1, seed=0, verbose=0,
        )
        os.unlink(path)
        return np.array([
            sum(int(label) * p for label, p in fasttext_predict(model, segment(fold(t), mode), k=6))
            for t in test_texts
        ])

    return learn


LEARNERS = {"ridge": ridge_learner, "ridge-ngrams": ridge_ngrams_learner, "fasttext-char": fasttext_learner("char"),
            "fasttext-jieba": fasttext_learner("jieba")}


def cross_validate(rows: list[dict], fold_key: str, learn, fraction: float = 1.0, seed: int = 0) -> dict:
    """Out-of-fold predictions with one fold per value of ``fold_key``; ``fraction`` of each
    training part (seeded sample) for the learning curve."""
    texts = [r["text"] for r in rows]
    scores = np.array([r["score"] for r in rows], dtype=float)
    keep = np.array([r["score"] >= 3 and r["kind"] == "none" for r in rows])
    folds = np.array([r[fold_key] for r in rows])
    oof = np.zeros(len(rows))
    per_fold = {}
    for value in sorted(set(folds.tolist())):
        test = np.where(folds == value)[0]
        train = np.where(folds != value)[0]
        if fraction < 1.0:
            train = np.sort(np.random.default_rng(seed).permutation(train)[: round(fraction * len(train))])
        oof[test] = learn([texts[i] for i in train], scores[train], [texts[i] for i in test])
        per_fold[str(value)] = auc(keep[test], oof[test])
    return {"oof": oof, "auc": auc(keep, oof), "spearman": spearman(oof, scores), "per_fold": per_fold,
            "keep": keep, "scores": scores}


def operating_point(cv: dict, threshold: float) -> dict:
    s, oof = cv["scores"], cv["oof"]
    kept = oof >= threshold
    return {
        "junk_dropped": float((~kept[s <= 1]).mean()),
        "good4_kept": float(kept[s >= 4].mean()),
        "ok3_kept": float(kept[s >= 3].mean()),
        "keep_kept": float(kept[cv["keep"]].mean()),
        "not_keep_dropped": float((~kept[~cv["keep"]]).mean()),
    }


def choose_threshold(cv: dict) -> float:
    good = cv["oof"][cv["scores"] >= 4]
    best = 0.0
    for t in np.arange(0.0, 5.0, 0.05):
        if (good >= t).mean() >= KEEP_GOOD:
            best = round(float(t), 2)
    return best


# ------------------------------------------------------------------ real full-document sets


def profile_file(folder: Path, with_quality: bool) -> str:
    path = folder / ("zh-web-quality.yaml" if with_quality else "zh-web-rules.yaml")
    path.write_text("extends: zh-web\n" + ("" if with_quality else "quality: null\n"), encoding="utf-8")
    return str(path)


def run_child(engine: str, corpus_path: str, out_path: str, profile: str) -> None:
    """Filter every document with one engine; write kept ids, quality scores and CPU time."""
    from datatrove.data import Document

    bf = _bench_filters()
    with open(corpus_path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    if engine == "datatrove":
        steps = bf.datatrove_steps()
    else:
        from jinglian.corpus.filters import filter_steps

        steps = filter_steps(profile)

    def pipeline(recs):
        data = (Document(text=r["text"], id=r["id"], metadata={k: r[k] for k in ("url", "title") if r.get(k)})
                for r in recs)
        for step in steps:
            data = step.run(data, 0, 1)
        return [(doc.id, doc.metadata.get("quality_score")) for doc in data]

    pipeline(records[:20])  # loads models and dictionaries (start-up, not timed)
    c0 = time.process_time()
    kept = pipeline(records)
    cpu = time.process_time() - c0
    Path(out_path).write_text(json.dumps({"kept": [k for k, _ in kept], "cpu_seconds": cpu,
                                          "docs": len(records), "peak_mb": bf._peak_rss_mb()}))


def run_engines(corpus: list[dict], engines: dict[str, str]) -> dict:
    bf = _bench_filters()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus_path = Path(tmp, "corpus.jsonl")
        corpus_path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus), encoding="utf-8")
        for engine, profile in engines.items():
            out = Path(tmp, f"{engine}.json")
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine, str(corpus_path), str(out), profile]
            subprocess.run(["taskset", "-c", "0", *cmd] if bf._has_taskset() else cmd, check=True, cwd=ROOT.parent)
            results[engine] = json.loads(out.read_text())
    return results


def real_sets(docs: list[dict]) -> list[tuple[str, str, list[dict], tuple | None]]:
    """(row name, label, documents, goal) for every real set, cc_zh_2022_49 by label first."""
    cc = [d for d in docs if d["source"] == "cc_zh_2022_49"]
    rows = [
        ("cc_zh_2022_49 keep", "clean", [d for d in cc if d["label"] == "clean"], ("kept", 0.90)),
        ("cc_zh_2022_49 drop, high conf.", "dirty",
         [d for d in cc if d["label"] == "dirty" and d["confidence"] == "high"], None),
        ("cc_zh_2022_49 drop, low conf.", "dirty",
         [d for d in cc if d["label"] == "dirty" and d["confidence"] == "low"], None),
    ]
    by_source: dict[str, list[dict]] = {}
    for d in docs:
        if d["source"] != "cc_zh_2022_49":
            by_source.setdefault(d["source"], []).append(d)
    for source, group in by_source.items():
        goal = ("kept", 0.97) if group[0]["label"] == "clean" and not source.startswith("whole_page") else None
        if source.startswith("whole_page"):
            goal = ("kept", 0.90)
        rows.append((source, group[0]["label"], group, goal))
    return rows


# ------------------------------------------------------------------ the report


def pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", default="ridge,ridge-ngrams,fasttext-char,fasttext-jieba")
    parser.add_argument("--retrain-default", action="store_true",
                        help="Retrain the shipped model (grouped CV picks the threshold), then stop.")
    parser.add_argument("--no-real", action="store_true", help="Skip the full-document sets and speed.")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return
    if not LABELS.is_file():
        sys.exit(f"labels not found: {LABELS}")
    rows = load_excerpts()
    if args.retrain_default:
        retrain_default(rows)
        return

    from jinglian.corpus.quality.model import load_model

    shipped = load_model()
    threshold = shipped.card["threshold"]
    print(f"hplt_zh_annotated: {len(rows)} excerpts; keep (score >= 3, kind none): "
          f"{sum(r['score'] >= 3 and r['kind'] == 'none' for r in rows)}; shipped threshold {threshold} "
          f"(score 0-5), document mode {shipped.card['document_mode']}\n")

    print("GROUPED CROSS-VALIDATION (pooled out-of-fold; AUC of keep, Spearman with the score; at the shipped "
          "threshold: score 0-1 dropped, score >= 4 kept, score >= 3 kept)")
    print(f"{'learner':<15} {'folds':<14} {'AUC':>6} {'Spearman':>8}  {'per-fold AUC':<44} {'0-1 drop':>8} "
          f"{'>=4 kept':>8} {'>=3 kept':>8} {'cpu s':>6}")
    cvs = {}
    for name in [n for n in args.learners.split(",") if n]:
        for fold_key, label in (("group", "by group"), ("batch", "by batch")):
            c0 = time.process_time()
            cv = cross_validate(rows, fold_key, LEARNERS[name])
            cvs[name, fold_key] = cv
            op = operating_point(cv, threshold)
            folds = " ".join(f"{k.replace('_Hant', 'T').replace('_Hans', 'S')}:{v:.3f}" for k, v in cv["per_fold"].items())
            print(f"{name:<15} {label:<14} {cv['auc']:>6.3f} {cv['spearman']:>8.3f}  {folds:<44} "
                  f"{pct(op['junk_dropped']):>8} {pct(op['good4_kept']):>8} {pct(op['ok3_kept']):>8} "
                  f"{time.process_time() - c0:>6.0f}")
    if ("ridge", "group") in cvs:
        cv = cvs["ridge", "group"]
        print(f"\nthreshold the grouped CV suggests (ridge, keeps >= {KEEP_GOOD:.1%} of score >= 4): "
              f"{choose_threshold(cv)}; shipped: {threshold}")
        print("ridge, by group, trade-off: threshold  0-1 dropped  >=4 kept  >=3 kept")
        for t in (1.5, 2.0, 2.25, 2.5, 2.75, 3.0):
            op = operating_point(cv, t)
            print(f"{'':<32}{t:>5}  {pct(op['junk_dropped']):>11} {pct(op['good4_kept']):>9} {pct(op['ok3_kept']):>9}")

    if ("ridge", "group") in cvs:
        by_kind(rows, cvs["ridge", "group"], threshold)

    print("\nLEARNING CURVE (ridge; share of each training part, seeded sample): AUC / Spearman")
    for fold_key in ("group", "batch"):
        cells = []
        for fraction in (0.25, 0.5, 1.0):
            cv = cvs.get(("ridge", fold_key)) if fraction == 1.0 else None
            cv = cv or cross_validate(rows, fold_key, ridge_learner, fraction=fraction)
            cells.append(f"{int(fraction * 100):>3}%: {cv['auc']:.3f} / {cv['spearman']:.3f}")
        print(f"  by {fold_key:<6} " + "   ".join(cells))

    if args.no_real:
        return
    real_report(shipped)


def by_kind(rows: list[dict], cv: dict, threshold: float) -> None:
    """What the score gets wrong, by the annotator's problem kind (leave-one-group-out scores)."""
    print(f"\nBY KIND (ridge, leave one group out): excerpts, mean label, mean predicted score, dropped at {threshold}")
    kinds = sorted({r["kind"] for r in rows}, key=lambda k: (k != "none", k))
    for kind in kinds:
        idx = [i for i, r in enumerate(rows) if r["kind"] == kind]
        oof = cv["oof"][idx]
        print(f"  {kind:<18} {len(idx):>5} {np.mean(cv['scores'][idx]):>6.2f} {np.mean(oof):>6.2f} "
              f"{pct(float(np.mean(oof < threshold))):>7}")


def real_report(shipped) -> None:
    from jinglian.corpus.quality.model import DOCUMENT_MODES

    bf = _bench_filters()
    docs = [d for d in bf._real_documents()]
    threshold = shipped.card["threshold"]
    sets = real_sets(docs)

    print("\nDOCUMENTS VS EXCERPTS (shipped model alone, no rules): cc_zh_2022_49 AUC of keep; kept share at the "
          "threshold per set")
    scores = {mode: {d["id"]: shipped.score(d["text"], mode) for d in docs} for mode in DOCUMENT_MODES}
    cc = [d for d in docs if d["source"] == "cc_zh_2022_49"]
    header = f"{'set':<34} {'docs':>5} " + " ".join(f"{m:>9}" for m in DOCUMENT_MODES)
    print(header)
    cc_keep = np.array([d["label"] == "clean" for d in cc])
    print(f"{'cc_zh_2022_49 AUC (keep vs drop)':<34} {len(cc):>5} "
          + " ".join(f"{auc(cc_keep, np.array([scores[m][d['id']] for d in cc])):>9.3f}" for m in DOCUMENT_MODES))
    for name, _label, group, _goal in sets:
        print(f"{name:<34} {len(group):>5} "
              + " ".join(f"{pct(np.mean([scores[m][d['id']] >= threshold for d in group])):>9}" for m in DOCUMENT_MODES))

    bf_ok = bf.spacy_available()
    with tempfile.TemporaryDirectory() as tmp:
        engines = {"zh-web": profile_file(Path(tmp), True), "rules-only": profile_file(Path(tmp), False)}
        if bf_ok:
            engines["datatrove"] = "-"
        results = run_engines(docs, engines)
        redundancy(docs, engines["rules-only"], shipped, scores[shipped.card["document_mode"]])
    kept = {e: set(r["kept"]) for e, r in results.items()}
    print("\nREAL SETS: kept / documents (dropped) per engine; zh-web = rules + the quality step (shipped "
          f"model, threshold {threshold}); goal per set")
    print(f"{'set':<34} {'label':<6} " + " ".join(f"{e:>24}" for e in results) + "  goal")
    for name, label, group, goal in sets:
        cells = []
        for e in results:
            k = sum(d["id"] in kept[e] for d in group)
            cells.append(f"{k:>4}/{len(group):<4}{pct(k / len(group)):>7} ({len(group) - k:>3})".rjust(24))
        verdict = ""
        if goal:
            k = sum(d["id"] in kept["zh-web"] for d in group)
            verdict = f"kept >= {goal[1]:.0%}: {'met' if k / len(group) >= goal[1] - 1e-9 else 'MISSED'} (zh-web)"
        print(f"{name:<34} {label:<6} " + " ".join(cells) + "  " + verdict)
    print(f"\n{'engine':<11} {'docs/cpu-s':>10} {'peak MB':>8}  kept   (each in its own process on one core)")
    for e, r in results.items():
        print(f"{e:<11} {r['docs'] / r['cpu_seconds']:>10.1f} {r['peak_mb']:>8.0f}  {len(r['kept'])}/{r['docs']}")
    if "datatrove" in results:
        speed = {e: r["docs"] / r["cpu_seconds"] for e, r in results.items()}
        print(f"speed: zh-web with the classifier {speed['zh-web'] / speed['datatrove']:.1f}x datatrove per "
              f"CPU-second (goal >= 3x); rules-only {speed['rules-only'] / speed['datatrove']:.1f}x")


def redundancy(docs: list[dict], rules_profile: str, shipped, scores: dict) -> None:
    """Per rule: documents it drops first (rules-only zh-web) and how many of them the score alone
    would drop too; a rule is redundant only where the score drops all it drops, on several sets."""
    from datatrove.data import Document

    from jinglian.corpus.filters import filter_steps

    steps = filter_steps(rules_profile)
    threshold = shipped.card["threshold"]
    by_rule: dict[str, list[dict]] = {}
    for d in docs:
        doc = Document(text=d["text"], id=d["id"], metadata={k: d[k] for k in ("url", "title") if d.get(k)})
        for step in steps:
            verdict = step.check(doc)
            if verdict is not None:
                rule = verdict[0] if isinstance(verdict, tuple) else verdict
                by_rule.setdefault(f"{step.name}/{rule}", []).append(d)
                break
    print("\nRULES THE SCORE COULD REPLACE (real sets, first rule that drops each document in rules-only zh-web): "
          "drops, of them also below the threshold, sets where the rule drops")
    for rule, group in sorted(by_rule.items(), key=lambda kv: -len(kv[1])):
        also = sum(scores[d["id"]] < threshold for d in group)
        sets = sorted({d["source"].split("/")[0] for d in group})
        print(f"  {rule:<42} {len(group):>4} {also:>4}  {', '.join(sets)}")


def clean_set_cap(threshold: float) -> float:
    """The highest threshold (<= ``threshold``, step 0.05) at which the freshly written default model
    alone keeps >= KEEP_CLEAN of EVERY clean real set with a 97% goal (not one set: all of them)."""
    from jinglian.corpus.quality.model import load_model

    model = load_model(DEFAULT_DIR)
    docs = list(_bench_filters()._real_documents())
    clean = [group for _name, _label, group, goal in real_sets(docs) if goal == ("kept", 0.97)]
    scores = [np.array([model.score(d["text"]) for d in group]) for group in clean]
    while threshold > 0 and any((s >= threshold).mean() < KEEP_CLEAN for s in scores):
        threshold = round(threshold - 0.05, 2)
    return threshold


def retrain_default(rows: list[dict]) -> None:
    """Grouped CV of the shipped learner → threshold; then train on every label and write the model."""
    from jinglian.corpus.quality.model import train_model

    cv_group = cross_validate(rows, "group", ridge_learner)
    cv_batch = cross_validate(rows, "batch", ridge_learner)
    threshold = choose_threshold(cv_group)
    op = operating_point(cv_group, threshold)
    # quality_bucket 0-3: the quartiles of the excerpts that pass the threshold (out-of-fold scores)
    passing = cv_group["oof"][cv_group["oof"] >= threshold]
    buckets = [round(float(np.quantile(passing, q)) * 20) / 20 for q in (0.25, 0.5, 0.75)]
    metrics = {
        "leave_one_group_out": {"auc_keep": round(cv_group["auc"], 4), "spearman": round(cv_group["spearman"], 4),
                                "per_group_auc": {k: round(v, 4) for k, v in cv_group["per_fold"].items()},
                                **{k: round(v, 4) for k, v in op.items()}},
        "leave_one_batch_out": {"auc_keep": round(cv_batch["auc"], 4), "spearman": round(cv_batch["spearman"], 4),
                                **{k: round(v, 4) for k, v in operating_point(cv_batch, threshold).items()}},
    }
    extra = {"metrics": metrics, "source": "HPLT v2 excerpts (hplt-project/release2_inspection, MIT), scores by "
             "an LLM annotator following RUBRIC.md"}
    card = train_model(LABELS, DEFAULT_DIR, threshold=threshold, buckets=buckets, document_mode=DOCUMENT_MODE,
                       extra=extra)
    capped = clean_set_cap(threshold)
    if capped < threshold:  # the same weights; only the card's threshold and metrics change
        print(f"threshold {threshold} capped to {capped}: every clean real set keeps >= {KEEP_CLEAN:.0%} (score alone)")
        metrics["leave_one_group_out"].update({k: round(v, 4) for k, v in operating_point(cv_group, capped).items()})
        metrics["leave_one_batch_out"].update({k: round(v, 4) for k, v in operating_point(cv_batch, capped).items()})
        passing = cv_group["oof"][cv_group["oof"] >= capped]
        buckets = [round(float(np.quantile(passing, q)) * 20) / 20 for q in (0.25, 0.5, 0.75)]
        card = train_model(LABELS, DEFAULT_DIR, threshold=capped, buckets=buckets, document_mode=DOCUMENT_MODE,
                           extra={**extra, "threshold_rule": f"labels (grouped CV) {threshold}, capped by the "
                                  f"clean real sets (each kept >= {KEEP_CLEAN:.0%}, score alone) to {capped}"})
    size = (DEFAULT_DIR / "weights.npy").stat().st_size
    print(json.dumps({k: card[k] for k in ("threshold", "buckets", "bias", "weights_sha256", "metrics")}, indent=2))
    print(f"wrote {DEFAULT_DIR} ({size / 1e6:.1f} MB of weights)")


if __name__ == "__main__":
    main()
