"""``jinglian report DIR``: one self-contained ``report.html`` for any run folder.

The report discovers what a run left behind instead of being told: every ``stats.json`` (the
funnel and the drops by reason), every ``documents/`` folder (length and score histograms from
metadata), rejected duplicates (cluster sizes), Hugging Face datasets saved with ``save_to_disk``
(rows, columns, characters, tokens) and training logs (``trainer_state.json`` from TRL/transformers,
``metrics.jsonl`` / ``log.jsonl`` from jinglian's own loops such as PPO). Plots are matplotlib PNGs embedded as base64, so the
file opens anywhere without a server.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import importlib
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers
import matplotlib.pyplot as plt  # noqa: E402

from jinglian.corpus.quality.report import quality_html  # noqa: E402

MAX_DOCS_PER_FOLDER = 20_000  # enough for a histogram; keeps the report fast on big runs
NUMERIC_SKIP = {"source_line", "t2s_changed", "chars", "http_status", "charset_errors", "reject_value"}
# Scores shown first when a run has them (filters write them into metadata); at most MAX_SCORE_PLOTS.
KEY_SCORES = ("lang_score", "quality_score", "han_ratio", "blocklist_score", "dup_10gram_fraction",
              "stopword_hits", "rare_han_share", "dedup_jaccard")
MAX_SCORE_PLOTS = 8
# Training-log keys worth a curve (PPO's health needs KL, approx-KL, clip fraction and EOS share too)
CURVE_WORDS = ("loss", "reward", "score", "kl", "accuracy", "perplexity", "entropy", "clip", "eos", "response_length")
SNIPPET_CHARS = 120  # characters of a dropped document shown as an example
EXAMPLES_PER_REASON = 3
PLOTS_PER_ROW = 4  # training curves per figure row: a row fits a 1280 px page


def _png(fig, alt: str = "plot") -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _hist(values: list[float], title: str, xlabel: str, dropped: list[float] = (), thresholds: list[tuple[str, float]] = ()) -> str:
    """A histogram; ``dropped`` values stacked in red on the kept ones, each threshold a dashed line."""
    fig, ax = plt.subplots(figsize=(4.2, 2.4))
    both = list(values) + list(dropped)
    bins = min(40, max(5, len(set(both))))
    if dropped:
        ax.hist([values, list(dropped)], bins=bins, stacked=True, color=["#3b6ea5", "#c44e52"], label=["kept", "dropped"])
    else:
        ax.hist(values, bins=bins, color="#3b6ea5")
    lo, hi = min(both), max(both)
    span = (hi - lo) or abs(hi) or 1.0
    for label, value in thresholds:
        if lo - span <= value <= hi + span:
            ax.axvline(value, color="#222", linestyle="--", linewidth=1, label=f"{label} {value:g}")
        else:  # a line far off the data would squeeze every bar into one pixel column
            ax.plot([], [], " ", label=f"{label} {value:g} (off this scale)")
    if dropped or thresholds:
        ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("count", fontsize=8)
    lines = "; ".join(f"{label} {value:g}" for label, value in thresholds)
    return _png(fig, f"histogram of {title}" + (f" ({lines})" if lines else ""))


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path != root else "(this run)"


def _read_documents(folder: Path) -> Iterator[dict]:
    """The first MAX_DOCS_PER_FOLDER documents under ``folder``; Parquet is read a batch at a time,
    so a large file costs one batch of memory, not the whole table."""
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.name.endswith((".jsonl.gz", ".jsonl")):
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                rows: Iterator[dict] = (json.loads(line) for line in f if line.strip())
                for row in rows:
                    yield row
                    count += 1
                    if count >= MAX_DOCS_PER_FOLDER:
                        return
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    yield row
                    count += 1
                    if count >= MAX_DOCS_PER_FOLDER:
                        return


@dataclass
class Doc:
    chars: int
    meta: dict
    snippet: str  # the first SNIPPET_CHARS characters


class RunFolder:
    """The run a report is written for, shared by the sections: the run is walked once for its
    ``documents/`` and ``rejected/`` folders, and each is read once (documents, extraction, cleaning
    and dedup all look at them). Only what the sections use is kept: length, metadata, a snippet."""

    def __init__(self, root: Path, profile: str | None = "zh-web"):
        self.root = root
        self.profile = profile
        self._folders = sorted(p for p in root.rglob("*") if p.is_dir() and p.name in ("documents", "rejected"))
        self._read: dict[Path, list[Doc]] = {}

    def folders(self, *names: str) -> list[Path]:
        """The ``documents``/``rejected`` folders called one of ``names``, sorted by path."""
        return [p for p in self._folders if p.name in names]

    def docs(self, folder: Path) -> list[Doc]:
        """The first MAX_DOCS_PER_FOLDER documents under ``folder``."""
        if folder not in self._read:
            self._read[folder] = [
                Doc(len(text), d.get("metadata") if isinstance(d.get("metadata"), dict) else {}, text[:SNIPPET_CHARS])
                for d in _read_documents(folder) for text in [str(d.get("text") or "")]
            ]
        return self._read[folder]

    def documents(self, folder: Path) -> list[tuple[int, dict]]:
        """(characters of text, metadata) of the first MAX_DOCS_PER_FOLDER documents under ``folder``."""
        return [(d.chars, d.meta) for d in self.docs(folder)]

    @functools.cached_property
    def thresholds(self) -> dict[str, list[tuple[str, float]]]:
        """Metadata key -> the profile's rules on it, e.g. ``{"han_ratio": [("min_han_ratio", 0.6)]}``."""
        if not self.profile:
            return {}
        from jinglian.corpus.filters.profile import load_profile

        rules: dict[str, list[tuple[str, float]]] = {}
        for section, body in load_profile(self.profile).sections.items():
            for key, value in (body or {}).items() if isinstance(body, dict) else ():
                if key.startswith(("min_", "max_")) and isinstance(value, int | float) and not isinstance(value, bool):
                    stat = "lang_score" if (section, key) == ("langid", "min_score") else key[4:]
                    rules.setdefault(stat, []).append((key, float(value)))
        return rules


# -- sections -------------------------------------------------------------------------------


def _examples(run: RunFolder, stage: Path) -> dict[str, list[Doc]]:
    """``step/reason`` -> the first EXAMPLES_PER_REASON documents of ``stage/rejected`` it dropped."""
    examples: dict[str, list[Doc]] = {}
    for folder in run.folders("rejected"):
        if folder.parent != stage:
            continue
        for doc in run.docs(folder):
            key = f"{doc.meta.get('rejected_by', '?')}/{doc.meta.get('reject_reason', '?')}"
            if len(examples.setdefault(key, [])) < EXAMPLES_PER_REASON:
                examples[key].append(doc)
    return examples


def _value(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _drops_table(drops: list[tuple[str, int]], examples: dict[str, list[Doc]]) -> str:
    """Drops by reason, each with a few examples: the document's start and the rule's value."""
    rows = []
    for reason, n in drops:
        docs = examples.get(reason, [])
        shown = "".join(
            f"<li><code>{html.escape(_value(d.meta.get('reject_value', '')))}</code> "
            f"{html.escape(d.snippet.replace(chr(10), ' ⏎ '))}{'…' if d.chars > SNIPPET_CHARS else ''}</li>"
            for d in docs
        )
        rows.append(f"<tr><td>{html.escape(reason)}</td><td>{n}</td>"
                    f"<td class=ex>{f'<ul>{shown}</ul>' if shown else '-'}</td></tr>")
    return ("<table class=drops><thead><tr><th>step/reason</th><th>documents</th>"
            "<th>examples (rule value, first characters)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def funnel_section(run: RunFolder) -> str:
    root = run.root
    parts = []
    for stats_path in sorted(root.rglob("stats.json")):
        if "logs" in stats_path.parts:  # datatrove's own merged stats, not our books
            continue
        books = json.loads(stats_path.read_text(encoding="utf-8"))
        if not isinstance(books, dict) or "steps" not in books:
            continue
        rows = [[s["step"], s["in"], s["kept"], sum(s["dropped"].values())] for s in books["steps"]]
        fig, ax = plt.subplots(figsize=(6, 0.5 + 0.3 * len(rows)))
        ax.barh([r[0] for r in rows][::-1], [r[2] for r in rows][::-1], color="#4c9a6a", label="kept")
        ax.barh([r[0] for r in rows][::-1], [r[3] for r in rows][::-1], left=[r[2] for r in rows][::-1],
                color="#c44e52", label="dropped")
        ax.set_xlabel("documents")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        status = "books balance" if books.get("balanced") else "BOOKS DO NOT BALANCE"
        drops = sorted(books.get("dropped", {}).items(), key=lambda kv: -kv[1])
        parts.append(
            f"<h3>{html.escape(_relative(stats_path.parent, root))}</h3>"
            f"<p>in {html.escape(str(books.get('in')))} = kept {html.escape(str(books.get('kept')))} + "
            f"dropped {sum(v for _, v in drops)} (<b>{status}</b>)</p>"
            + _table(["step", "in", "kept", "dropped"], rows)
            + _png(fig)
            + ("<h4>drops by reason</h4>" + _drops_table(drops, _examples(run, stats_path.parent)) if drops else "")
        )
    return "".join(parts)


def documents_section(run: RunFolder) -> str:
    """Per ``documents/`` folder: length and score histograms, the documents its stage dropped
    stacked in red, and the profile's thresholds as dashed lines."""
    root = run.root
    parts = []
    for folder in run.folders("documents"):
        docs = run.documents(folder)
        if not docs:
            continue
        rejected = folder.parent / "rejected"
        dropped = run.documents(rejected) if rejected in run.folders("rejected") else []
        lengths = [chars for chars, _ in docs]
        numeric = _numeric(docs)
        dropped_numeric = _numeric(dropped)
        varied = {k: v for k, v in numeric.items() if len(v) >= 5 and len(set(v + dropped_numeric.get(k, []))) > 1}
        order = [k for k in KEY_SCORES if k in varied] + sorted(k for k in varied if k not in KEY_SCORES)
        plots = [_hist(lengths, "document length", "characters", [c for c, _ in dropped],
                       run.thresholds.get("chars", []))]
        plots += [_hist(varied[k], k, k, dropped_numeric.get(k, []), run.thresholds.get(k, [])) for k in order[:MAX_SCORE_PLOTS]]
        parts.append(
            f"<h3>{html.escape(_relative(folder, root))}</h3>"
            f"<p>{len(docs)} documents, {sum(lengths)} characters, median {sorted(lengths)[len(lengths) // 2]} characters"
            + (f"; red: {len(dropped)} documents this stage dropped (their scores as far as they were computed)" if dropped else "")
            + (f"; dashed lines: the thresholds of profile {html.escape(run.profile)}" if run.profile else "")
            + "</p>" + "".join(plots) + quality_html({"text": d.snippet, "metadata": d.meta} for d in run.docs(folder))
        )
    return "".join(parts)


def _numeric(docs: list[tuple[int, dict]]) -> dict[str, list[float]]:
    numeric: dict[str, list[float]] = {}
    for _, meta in docs:
        for key, value in meta.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key not in NUMERIC_SKIP:
                numeric.setdefault(key, []).append(float(value))
    return numeric


def dedup_section(run: RunFolder) -> str:
    """Duplicate clusters (the survivor plus the documents that named it ``duplicate_of``): how many
    of each size, and a few removed documents with their estimated Jaccard."""
    sizes: Counter[str] = Counter()
    examples: list[Doc] = []
    for folder in run.folders("rejected"):
        for doc in run.docs(folder):
            target = doc.meta.get("duplicate_of")
            if target:
                sizes[target] += 1
                if len(examples) < EXAMPLES_PER_REASON:
                    examples.append(doc)
    if not sizes:
        return ""
    by_size = Counter(n + 1 for n in sizes.values())  # the survivor plus its duplicates
    rows = [[size, clusters, size * clusters] for size, clusters in sorted(by_size.items())]
    shown = "".join(
        f"<li><code>{html.escape(str(d.meta.get('reject_reason', '')))} {html.escape(_value(d.meta.get('dedup_jaccard', '')))}</code> "
        f"{html.escape(d.snippet.replace(chr(10), ' ⏎ '))}…</li>" for d in examples
    )
    return (
        f"<p>{len(sizes)} clusters, {sum(sizes.values())} duplicates removed, "
        f"largest cluster {max(by_size)} documents</p>"
        + _table(["cluster size (documents)", "clusters", "documents"], rows)
        + f"<h4>removed duplicates (reason, estimated Jaccard, first characters)</h4><ul class=ex>{shown}</ul>"
    )


def datasets_section(run: RunFolder) -> str:
    root = run.root
    rows = []
    plots = []
    for info in sorted(root.rglob("dataset_info.json")):
        from datasets import load_from_disk

        folder = info.parent
        ds = load_from_disk(str(folder))
        stats = [_relative(folder, root), ds.num_rows, ", ".join(ds.column_names)]
        if "input_ids" in ds.column_names:
            tokens = [len(x) for x in ds["input_ids"]]
            stats.append(f"{sum(tokens)} tokens, mean {sum(tokens) / max(1, len(tokens)):.0f}/row")
            plots.append(_hist(tokens, f"{_relative(folder, root)}: tokens per row", "tokens"))
        else:
            text_cols = [c for c in ds.column_names if getattr(ds.features[c], "dtype", None) == "string"]
            chars = [sum(len(row[c] or "") for c in text_cols) for row in ds] if text_cols else []
            stats.append(f"{sum(chars)} characters, mean {sum(chars) / max(1, len(chars)):.0f}/row" if chars else "-")
            if chars:
                plots.append(_hist(chars, f"{_relative(folder, root)}: characters per row", "characters"))
        rows.append(stats)
    if not rows:
        return ""
    return _table(["dataset", "rows", "columns", "size"], rows) + "".join(plots)


def _step_of(checkpoint: Path) -> int:
    tail = checkpoint.name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _training_runs(root: Path) -> dict[Path, Path | None]:
    """Training run folder -> its fullest log: a ``trainer_state.json`` next to the model, else the
    one of the checkpoint with the highest step (``checkpoint-40`` after ``checkpoint-20``, not
    alphabetically), else ``metrics.jsonl`` / ``log.jsonl``; None when the run left only its summary."""
    runs: dict[Path, Path | None] = {}
    candidates: dict[Path, list[tuple[int, Path]]] = {}
    for path in root.rglob("trainer_state.json"):
        in_checkpoint = path.parent.name.startswith("checkpoint-")
        run = path.parent.parent if in_checkpoint else path.parent
        candidates.setdefault(run, []).append((_step_of(path.parent) if in_checkpoint else 1 << 62, path))
    for run, found in candidates.items():
        runs[run] = max(found)[1]
    for name in ("metrics.jsonl", "log.jsonl"):
        for path in root.rglob(name):
            runs.setdefault(path.parent, path)
    for summary in root.rglob("jinglian_summary.json"):
        runs.setdefault(summary.parent, None)
    return dict(sorted(runs.items()))


def _curves(path: Path) -> dict[str, list[tuple[float, float]]]:
    if path.name == "trainer_state.json":
        history = json.loads(path.read_text()).get("log_history", [])
    else:
        history = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    curves: dict[str, list[tuple[float, float]]] = {}
    for i, entry in enumerate(history):
        step = entry.get("step", i)
        for key, value in entry.items():
            if key != "step" and isinstance(value, int | float) and not isinstance(value, bool):
                if any(word in key for word in CURVE_WORDS):
                    curves.setdefault(key, []).append((step, value))
    return curves


def _final_metrics(run: Path) -> list[list]:
    """The run's final numbers from ``jinglian_summary.json`` (evaluation after training included:
    ``eval_loss``, ``eval_perplexity``, ``pairwise_accuracy``)."""
    path = run / "jinglian_summary.json"
    if not path.is_file():
        return []
    summary = json.loads(path.read_text(encoding="utf-8"))
    return [[key, round(value, 4)] for key, value in summary.items()
            if isinstance(value, int | float) and not isinstance(value, bool) and any(w in key for w in CURVE_WORDS + ("runtime",))]


def training_section(run: RunFolder) -> str:
    root = run.root
    parts = []
    for folder, log in _training_runs(root).items():
        curves = _curves(log) if log else {}
        final = _final_metrics(folder)
        if not curves and not final:
            continue
        html_parts = [f"<h3>{html.escape(_relative(folder, root))}</h3>"]
        if log:
            html_parts.append(f"<p>curves from {html.escape(_relative(log, root))}</p>")
        if final:
            html_parts.append(_table(["final metric (jinglian_summary.json)", "value"], final))
        if curves:
            last = [[key, round(points[-1][1], 4), len(points)] for key, points in sorted(curves.items())]
            html_parts.append(_table(["metric", "last", "points"], last))
            items = sorted(curves.items())
            cols = min(PLOTS_PER_ROW, len(items))
            nrows = -(-len(items) // cols)
            fig, axes = plt.subplots(nrows, cols, figsize=(3.0 * cols, 2.3 * nrows), squeeze=False)
            for ax in axes.flat[len(items):]:
                ax.set_visible(False)
            for ax, (key, points) in zip(axes.flat, items, strict=False):
                ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", color="#3b6ea5")
                ax.set_title(key, fontsize=9)
                ax.set_xlabel("step", fontsize=8)
                ax.tick_params(labelsize=7)
            fig.tight_layout()
            html_parts.append(_png(fig))
        parts.append("".join(html_parts))
    return "".join(parts)


def crawl_section(run: RunFolder) -> str:
    """Every ``crawl_log.jsonl`` under the run: outcomes by reason, pages by depth, bytes, hosts,
    robots.txt reads (``robots.jsonl``) and sitemaps."""
    root = run.root
    from urllib.parse import urlsplit

    parts = []
    for log in sorted(root.rglob("crawl_log.jsonl")):
        rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
        reasons = Counter((r["outcome"], r["reason"] or "-") for r in rows)
        fetched = [r for r in rows if r["outcome"] == "fetched"]
        depths = Counter(r["depth"] for r in fetched)
        hosts = Counter(urlsplit(r["url"]).netloc for r in fetched)
        robots_path = log.parent / "robots.jsonl"
        robots = [json.loads(x) for x in robots_path.read_text(encoding="utf-8").splitlines()] if robots_path.exists() else []
        sitemaps = sum(r["reason"] == "sitemap" for r in rows)
        from_sitemaps = sum(1 for r in fetched if (r["referer"] or "").endswith((".xml", ".xml.gz")))
        parts.append(
            f"<h3>{html.escape(_relative(log.parent, root))}</h3>"
            f"<p>{len(rows)} URLs: {len(fetched)} fetched ({sum(r['bytes'] or 0 for r in fetched):,} bytes), "
            f"{sum(r['outcome'] == 'skipped' for r in rows)} skipped, {sum(r['outcome'] == 'failed' for r in rows)} failed; "
            f"{len(hosts)} host(s); {sitemaps} sitemap(s) read, {from_sitemaps} pages found through them</p>"
            + _table(["outcome / reason", "URLs"], [[f"{o} / {r}", n] for (o, r), n in sorted(reasons.items())])
            + _table(["depth", "pages fetched"], sorted(depths.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))
            + _table(["host", "pages fetched"], hosts.most_common(20))
            + _table(["robots.txt", "outcome", "redirects", "sitemaps listed"],
                     [[r["url"], r["outcome"] + (f" ({r['reason']})" if r["reason"] else ""), r["redirects"],
                       len(r.get("sitemaps", []))] for r in robots])  # fmt: skip
        )
    return "".join(parts)


def _stage_documents(run: RunFolder, key: str) -> dict[Path, dict[str, list[dict]]]:
    """Per stage folder (the parent of ``documents/`` and ``rejected/``), the metadata of the
    documents that carry ``key``, kept and rejected apart."""
    stages: dict[Path, dict[str, list[dict]]] = {}
    for folder in run.folders("documents", "rejected"):
        metas = [m for _, m in run.documents(folder) if key in m]
        if metas:
            stages.setdefault(folder.parent, {"documents": [], "rejected": []})[folder.name] = metas
    return stages


def extraction_section(run: RunFolder) -> str:
    """Which candidate extractor won each page (``extractor``), by page kind, kept or dropped later."""
    root = run.root
    parts = []
    for stage, books in _stage_documents(run, "extractor").items():
        kept, dropped = Counter(m["extractor"] for m in books["documents"]), Counter(m["extractor"] for m in books["rejected"])
        pages = sum(kept.values()) + sum(dropped.values())
        rows = [[name, kept[name] + dropped[name], f"{(kept[name] + dropped[name]) / pages:.0%}", kept[name], dropped[name]]
                for name in sorted(kept | dropped, key=lambda n: -(kept[n] + dropped[n]))]
        kinds = Counter((m.get("page_kind") or "-", m["extractor"]) for m in books["documents"] + books["rejected"])
        parts.append(
            f"<h3>{html.escape(_relative(stage, root))}</h3><p>{pages} extracted pages</p>"
            + _table(["extractor (winner)", "pages", "share", "kept", "dropped later"], rows)
            + _table(["page kind / extractor", "pages"], [[f"{k} / {e}", n] for (k, e), n in sorted(kinds.items())])
        )
    return "".join(parts)


def cleaning_section(run: RunFolder) -> str:
    """Line cleaning (boilerplate lines removed before the document rules): how much, and how
    many pages were dropped because little but boilerplate was left."""
    root = run.root
    parts = []
    for stage, books in _stage_documents(run, "lines_removed").items():
        metas = books["documents"] + books["rejected"]
        cleaned = [m for m in metas if m["lines_removed"] > 0]
        shares = [float(m.get("chars_removed_share", 0.0)) for m in metas]
        by_cleaning = Counter(m["reject_reason"] for m in books["rejected"] if m.get("rejected_by") == "lines")
        parts.append(
            f"<h3>{html.escape(_relative(stage, root))}</h3>"
            f"<p>{len(metas)} documents reached line cleaning; {len(cleaned)} had lines removed, "
            f"{sum(m['lines_removed'] for m in metas)} lines in all; median share of characters removed "
            f"{sorted(shares)[len(shares) // 2]:.1%}; kept {len(books['documents'])}</p>"
            + (_table(["dropped by line cleaning: rule", "documents"], sorted(by_cleaning.items())) if by_cleaning else "")
            + _hist(shares, "share of characters removed as boilerplate", "share")
        )
    return "".join(parts)


# One line per section: (id, title, builder). A builder takes the RunFolder and returns HTML, or ""
# when the run has nothing for it (the section is then left out). It may be "module:function",
# imported only when a report is written, so a section living elsewhere is still one line here.
SECTIONS: list[tuple[str, str, Callable[[RunFolder], str] | str]] = [
    ("crawl", "Crawl: fetched, skipped, failed", crawl_section),
    ("extraction", "Extraction: which extractor won", extraction_section),
    ("funnel", "Funnel: documents through the stages", funnel_section),
    ("cleaning", "Line cleaning: boilerplate removed", cleaning_section),
    ("documents", "Documents: lengths and scores", documents_section),
    ("dedup", "Deduplication clusters", dedup_section),
    ("datasets", "Built datasets", datasets_section),
    ("training", "Training curves", training_section),
    ("contamination", "Benchmark contamination", "jinglian.corpus.decontam.report:contamination_section"),
]

STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}img{margin:.3em;vertical-align:top;max-width:100%;height:auto}
nav a{margin-right:1em}td.ex,table.drops th{text-align:left}td.ex{font-size:.85em;max-width:760px}.ex ul,ul.ex{margin:0;padding-left:1.2em}
code{background:#f3f3f3;padding:0 .2em}
"""


def _builder(build: Callable[[RunFolder], str] | str) -> Callable[[RunFolder], str]:
    if callable(build):
        return build
    module, _, name = build.partition(":")
    return getattr(importlib.import_module(module), name)


def write_report(run_dir: str | Path, profile: str | None = "zh-web") -> Path:
    """Write ``RUN_DIR/report.html``; ``profile`` gives the thresholds drawn on the histograms."""
    root = Path(run_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such folder")
    run = RunFolder(root, profile)
    built = [(sid, title, _builder(build)(run)) for sid, title, build in SECTIONS]
    built = [(sid, title, content) for sid, title, content in built if content]
    body = "".join(f'<section id="{sid}"><h2>{title}</h2>{content}</section>' for sid, title, content in built)
    nav = "".join(f'<a href="#{sid}">{title.split(":")[0]}</a>' for sid, title, _ in built)
    if not built:
        body = ("<p>Nothing to report in this folder: no crawl log, stats.json, documents, rejected documents, "
                "Hugging Face datasets or training logs were found under it.</p>")
    page = (
        f'<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8"><title>jinglian report: {html.escape(root.name)}</title>'
        f'<link rel="icon" href="data:,"><style>{STYLE}</style></head>'
        f"<body><h1>jinglian report: {html.escape(root.name)}</h1><nav>{nav}</nav>{body}</body></html>"
    )
    out = root / "report.html"
    out.write_text(page, encoding="utf-8")
    return out
