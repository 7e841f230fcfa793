"""Benchmark: jinglian's ``zh-web`` profile beside datatrove's filters as FineWeb-2 runs them on Mandarin.

    .venv/bin/python bench/filters.py                 # the default mix, both engines
    .venv/bin/python bench/filters.py --repeat 5      # 5x the documents, for steadier docs/s

The documents (same list, same order, for both engines), each labelled clean or dirty:
- ../shared/data/text: 848 CMRC 2018 + 300 DRCD (traditional) encyclopedic paragraphs (clean),
- ../shared/data/quality/chinesewebtext: 10 clean + 10 dirty Common Crawl documents,
- jinglian's own: ``clean_web_documents`` (articles, forum threads, hard-clean pages with a phone
  number or a blocklist word), ``dirty_documents`` (gambling, porn, SEO, navigation, gibberish,
  contact stuffing, pinyin injection, hidden gambling names, code, English menus, repetition),
  and ``sample_documents`` (the demo corpus; unlabelled: its articles repeat sentences).
Shared data is used when present and skipped otherwise.

Engines, each in its own process on one core (peak memory = that process's maximum RSS, models
and dictionaries included; docs/s excludes start-up, which is timed separately):
- jinglian: ``filter_steps("zh-web")`` (langid with lid.176, heuristics, spam, blocklists, PII).
- datatrove: FineWeb-2's filtering stage with the ``cmn_Hani`` thresholds (configs/cmn_Hani.yml
  of huggingface/fineweb-2): ``GopherRepetitionFilter`` (dup_line_frac 0.287, top 2/3/4-gram
  0.256/0.201/0.171, dup 5..10-gram 0.198..0.127; paragraph rules off), ``FineWebQualityFilter``
  (line_punct_thr 0.106, new_line_ratio 0.178, char_duplicates_ratio 0.1, short lines off) and
  ``GopherQualityFilter`` (avg word length 1..5, non-alpha words ≤ 0.735, 2 stopwords from the
  config), all with ``language="cmn_Hani"`` (spaCy's zh tokenizer with jieba). FineWeb-2's language
  filter needs GlotLID from the Hub, so it is left out (that only favours datatrove's speed).
  Needs ``pip install spacy``; without it datatrove is skipped.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

CMN_HANI = {  # huggingface/fineweb-2 configs/cmn_Hani.yml
    "dup_line_frac": 0.287,
    "dup_n_grams": [(5, 0.198), (6, 0.182), (7, 0.167), (8, 0.154), (9, 0.14), (10, 0.127)],
    "top_n_grams": [(2, 0.256), (3, 0.201), (4, 0.171)],
    "line_punct_thr": 0.106,
    "max_avg_word_length": 5,
    "min_avg_word_length": 1,
    "max_non_alpha_words_ratio": 0.735,
    "new_line_ratio": 0.178,
    "stopwords": [
        "的",
        "年",
        "在",
        "月",
        "是",
        "和",
        "日",
        "了",
        "於",
        "·",
        "為",
        "有",
        "被",
        "人",
        "中",
        "为",
        "他",
        "與",
        "後",
        "也",
        "而",
        "由",
    ],
}


def build_corpus(repeat: int) -> list[dict]:
    from jinglian.corpus.sample import clean_web_documents, dirty_documents, sample_documents

    docs: list[dict] = []

    def add(source: str, label: str, texts: list[str]) -> None:
        docs.extend(
            {"id": f"{source}-{i}", "text": t, "source": source, "label": label} for i, t in enumerate(texts)
        )

    for name, label in (
        ("text/cmrc2018_dev_paragraphs.jsonl", "clean"),
        ("text/drcd_traditional_paragraphs.jsonl", "clean"),
        ("quality/chinesewebtext/clean.jsonl", "clean"),
        ("quality/chinesewebtext/dirty.jsonl", "dirty"),
    ):
        path = SHARED / name
        if path.is_file():
            with open(path, encoding="utf-8") as f:
                add(path.parent.name + "/" + path.stem, label, [json.loads(line)["text"] for line in f])
    add("own/clean_web", "clean", [d["text"] for d in clean_web_documents(400, seed=11)])
    add("own/dirty", "dirty", [d["text"] for d in dirty_documents(440, seed=11)])
    add("own/sample", "unlabelled", [d["text"] for d in sample_documents(400, seed=11)])
    return [dict(d, id=f"{d['id']}#{r}") for r in range(repeat) for d in docs]


def datatrove_steps() -> list:
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    lang = "cmn_Hani"
    return [
        GopherRepetitionFilter(
            language=lang,
            dup_para_frac=0,
            dup_line_char_frac=0,
            dup_para_char_frac=0,
            dup_line_frac=CMN_HANI["dup_line_frac"],
            top_n_grams=CMN_HANI["top_n_grams"],
            dup_n_grams=CMN_HANI["dup_n_grams"],
        ),
        FineWebQualityFilter(
            language=lang,
            short_line_thr=999,
            char_duplicates_ratio=0.1,
            line_punct_thr=CMN_HANI["line_punct_thr"],
            new_line_ratio=CMN_HANI["new_line_ratio"],
        ),
        GopherQualityFilter(
            language=lang,
            max_avg_word_length=CMN_HANI["max_avg_word_length"],
            min_avg_word_length=CMN_HANI["min_avg_word_length"],
            stop_words=CMN_HANI["stopwords"],
            max_non_alpha_words_ratio=CMN_HANI["max_non_alpha_words_ratio"],
            min_stop_words=2,
        ),
    ]


def run_child(engine: str, corpus_path: str, out_path: str) -> None:
    """Filter every document with one engine; write kept ids, drop reasons and timings."""
    from datatrove.data import Document

    with open(corpus_path, encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    started = time.perf_counter()
    if engine == "jinglian":
        from jinglian.corpus.filters import filter_steps

        steps = filter_steps("zh-web")
    else:
        steps = datatrove_steps()

    def pipeline(recs):
        data = (Document(text=r["text"], id=r["id"]) for r in recs)
        for step in steps:
            data = step.run(data, 0, 1)
        return [doc.id for doc in data]

    pipeline(records[:20])  # loads models, dictionaries and tokenizers
    startup = time.perf_counter() - started
    t0 = time.perf_counter()
    kept = pipeline(records)
    seconds = time.perf_counter() - t0
    reasons: dict[str, int] = {}
    for step in steps:
        for key, value in step.stats.stats.items():
            if key.startswith("dropped") or key.startswith("dropped/"):
                n = value.total if hasattr(value, "total") else value
                reasons[f"{step.name}/{key}"] = reasons.get(f"{step.name}/{key}", 0) + int(n)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out_path).write_text(
        json.dumps(
            {
                "engine": engine,
                "kept": kept,
                "seconds": seconds,
                "startup_s": startup,
                "peak_mb": peak_mb,
                "docs": len(records),
                "reasons": reasons,
            },
            ensure_ascii=False,
        )
    )


def spacy_available() -> bool:
    try:
        import spacy  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=1, help="Repeat the document list this many times.")
    parser.add_argument("--engines", default="jinglian,datatrove")
    parser.add_argument("--json", help="Also write the results to this JSON file.")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(*args.child)
        return
    corpus = build_corpus(args.repeat)
    engines = [e for e in args.engines.split(",") if e]
    if "datatrove" in engines and not spacy_available():
        print("datatrove skipped: its cmn_Hani word tokenizer needs spaCy (pip install spacy)")
        engines.remove("datatrove")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus_path = Path(tmp, "corpus.jsonl")
        corpus_path.write_text(
            "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus), encoding="utf-8"
        )
        for engine in engines:
            out = Path(tmp, f"{engine}.json")
            env_cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                engine,
                str(corpus_path),
                str(out),
            ]
            subprocess.run(
                ["taskset", "-c", "0", *env_cmd] if _has_taskset() else env_cmd, check=True, cwd=ROOT.parent
            )
            results[engine] = json.loads(out.read_text())
    report(corpus, results)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {e: {k: v for k, v in r.items() if k != "kept"} for e, r in results.items()},
                ensure_ascii=False,
                indent=2,
            )
        )


def _has_taskset() -> bool:
    from shutil import which

    return which("taskset") is not None


def report(corpus: list[dict], results: dict) -> None:
    sources = sorted({d["source"] for d in corpus}, key=lambda s: (s.startswith("own"), s))
    kept = {e: set(r["kept"]) for e, r in results.items()}
    print(f"\n{len(corpus)} documents, one core each\n")
    print(f"{'engine':<10} {'docs/s':>8} {'start-up s':>10} {'peak MB':>8}  kept")
    for e, r in results.items():
        print(
            f"{e:<10} {r['docs'] / r['seconds']:>8.1f} {r['startup_s']:>10.1f} {r['peak_mb']:>8.0f}  {len(kept[e])}/{r['docs']}"
        )
    print("\nkept share by source (clean sources should stay high, dirty ones low)")
    print(f"{'source':<46} {'label':<11} {'n':>5} " + " ".join(f"{e:>10}" for e in results))
    for source in sources:
        ids = [d["id"] for d in corpus if d["source"] == source]
        label = next(d["label"] for d in corpus if d["source"] == source)
        shares = " ".join(f"{sum(i in kept[e] for i in ids) / len(ids):>10.1%}" for e in results)
        print(f"{source:<46} {label:<11} {len(ids):>5} {shares}")
    for label in ("clean", "dirty"):
        ids = [d["id"] for d in corpus if d["label"] == label]
        shares = " ".join(f"{sum(i in kept[e] for i in ids) / len(ids):>10.1%}" for e in results)
        print(f"{'ALL ' + label:<46} {label:<11} {len(ids):>5} {shares}")
    if len(results) == 2:
        a, b = list(results)
        both = sum(1 for d in corpus if d["id"] in kept[a] and d["id"] in kept[b])
        neither = sum(1 for d in corpus if d["id"] not in kept[a] and d["id"] not in kept[b])
        print(
            f"\nagreement: {(both + neither) / len(corpus):.1%} (both keep {both}, both drop {neither}, "
            f"only {a} keeps {len(kept[a] - kept[b])}, only {b} keeps {len(kept[b] - kept[a])})"
        )
        ra, rb = (results[e]["docs"] / results[e]["seconds"] for e in (a, b))
        print(f"speed: {a} {ra / rb:.1f}x {b} (docs/s per core)")
    for e, r in results.items():
        top = sorted(r["reasons"].items(), key=lambda kv: -kv[1])[:12]
        print(f"\n{e} drops: " + ", ".join(f"{k}: {v}" for k, v in top))


if __name__ == "__main__":
    main()
