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
import gzip
import html
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers
import matplotlib.pyplot as plt  # noqa: E402

from jinglian.corpus.quality.report import quality_html  # noqa: E402

MAX_DOCS_PER_FOLDER = 20_000  # enough for a histogram; keeps the report fast on big runs
NUMERIC_SKIP = {"source_line", "t2s_changed", "chars", "http_status", "charset_errors"}
# Scores shown first when a run has them (filters write them into metadata); at most MAX_SCORE_PLOTS.
KEY_SCORES = ("lang_score", "quality_score", "han_ratio", "blocklist_score", "dup_10gram_fraction",
              "stopword_hits", "rare_han_share", "dedup_jaccard")
MAX_SCORE_PLOTS = 8
# Training-log keys worth a curve (PPO's health needs KL, approx-KL, clip fraction and EOS share too)
CURVE_WORDS = ("loss", "reward", "score", "kl", "accuracy", "perplexity", "entropy", "clip", "eos", "response_length")


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _hist(values: list[float], title: str, xlabel: str) -> str:
    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.hist(values, bins=min(40, max(5, len(set(values)))), color="#3b6ea5")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    return _png(fig)


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path != root else "(this run)"


def _read_documents(folder: Path) -> Iterator[dict]:
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.name.endswith((".jsonl.gz", ".jsonl")):
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        yield json.loads(line)
                        count += 1
                        if count >= MAX_DOCS_PER_FOLDER:
                            return
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            for row in pq.read_table(path).to_pylist():
                yield row
                count += 1
                if count >= MAX_DOCS_PER_FOLDER:
                    return


class RunFolder:
    """The run a report is written for, shared by the sections: the run is walked once for its
    ``documents/`` and ``rejected/`` folders, and each is read once (documents, extraction, cleaning
    and dedup all look at them). Only what the sections use is kept: text length and metadata."""

    def __init__(self, root: Path):
        self.root = root
        self._folders = sorted(p for p in root.rglob("*") if p.is_dir() and p.name in ("documents", "rejected"))
        self._read: dict[Path, list[tuple[int, dict]]] = {}

    def folders(self, *names: str) -> list[Path]:
        """The ``documents``/``rejected`` folders called one of ``names``, sorted by path."""
        return [p for p in self._folders if p.name in names]

    def documents(self, folder: Path) -> list[tuple[int, dict]]:
        """(characters of text, metadata) of the first MAX_DOCS_PER_FOLDER documents under ``folder``."""
        if folder not in self._read:
            self._read[folder] = [(len(d.get("text") or ""), d.get("metadata") or {}) for d in _read_documents(folder)]
        return self._read[folder]


# -- sections -------------------------------------------------------------------------------


def funnel_section(run: RunFolder) -> str:
    root = run.root
    parts = []
    for stats_path in sorted(root.rglob("stats.json")):
        if "logs" in stats_path.parts:  # datatrove's own merged stats, not our books
            continue
        books = json.loads(stats_path.read_text(encoding="utf-8"))
        if "steps" not in books:
            continue
        rows = [[s["step"], s["in"], s["kept"], sum(s["dropped"].values())] for s in books["steps"]]
        fig, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * len(rows)))
        ax.barh([r[0] for r in rows][::-1], [r[2] for r in rows][::-1], color="#4c9a6a", label="kept")
        ax.barh([r[0] for r in rows][::-1], [r[3] for r in rows][::-1], left=[r[2] for r in rows][::-1],
                color="#c44e52", label="dropped")
        ax.set_xlabel("documents")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        status = "books balance" if books.get("balanced") else "BOOKS DO NOT BALANCE"
        drops = sorted(books.get("dropped", {}).items(), key=lambda kv: -kv[1])
        parts.append(
            f"<h3>{html.escape(_relative(stats_path.parent, root))}</h3>"
            f"<p>in {books['in']} = kept {books['kept']} + dropped {sum(v for _, v in drops)} "
            f"(<b>{status}</b>)</p>"
            + _table(["step", "in", "kept", "dropped"], rows)
            + _png(fig)
            + ("<h4>drops by reason</h4>" + _table(["step/reason", "documents"], drops) if drops else "")
        )
    return "".join(parts) or "<p>No stats.json found in this run.</p>"


def documents_section(run: RunFolder) -> str:
    root = run.root
    parts = []
    for folder in run.folders("documents"):
        docs = run.documents(folder)
        if not docs:
            continue
        lengths = [chars for chars, _ in docs]
        numeric: dict[str, list[float]] = {}
        for _, meta in docs:
            for key, value in meta.items():
                if isinstance(value, int | float) and not isinstance(value, bool) and key not in NUMERIC_SKIP:
                    numeric.setdefault(key, []).append(float(value))
        varied = {k: v for k, v in numeric.items() if len(v) >= 5 and len(set(v)) > 1}  # constants say nothing
        order = [k for k in KEY_SCORES if k in varied] + sorted(k for k in varied if k not in KEY_SCORES)
        plots = [_hist(lengths, "document length", "characters")]
        plots += [_hist(varied[k], k, k) for k in order[:MAX_SCORE_PLOTS]]
        parts.append(
            f"<h3>{html.escape(_relative(folder, root))}</h3>"
            f"<p>{len(docs)} documents, {sum(lengths)} characters, median {sorted(lengths)[len(lengths) // 2]} characters</p>"
            + "".join(plots) + quality_html(_read_documents(folder))
        )
    return "".join(parts) or "<p>No documents folder found in this run.</p>"


def dedup_section(run: RunFolder) -> str:
    sizes: Counter[str] = Counter()
    for folder in run.folders("rejected"):
        for _, meta in run.documents(folder):
            target = meta.get("duplicate_of")
            if target:
                sizes[target] += 1
    if not sizes:
        return "<p>No deduplication clusters in this run.</p>"
    cluster_sizes = [n + 1 for n in sizes.values()]  # the survivor plus its duplicates
    return (
        f"<p>{len(cluster_sizes)} clusters, {sum(sizes.values())} duplicates removed, "
        f"largest cluster {max(cluster_sizes)} documents</p>" + _hist(cluster_sizes, "duplicate cluster size", "documents")
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
        return "<p>No Hugging Face datasets found in this run.</p>"
    return _table(["dataset", "rows", "columns", "size"], rows) + "".join(plots)


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


def training_section(run: RunFolder) -> str:
    root = run.root
    parts = []
    logs = sorted(root.rglob("trainer_state.json")) + sorted(root.rglob("metrics.jsonl")) + sorted(root.rglob("log.jsonl"))
    seen_runs = set()
    for path in logs:
        run = path.parent.parent if path.parent.name.startswith("checkpoint-") else path.parent
        if run in seen_runs:  # checkpoints repeat the run's history
            continue
        seen_runs.add(run)
        curves = _curves(path)
        if not curves:
            continue
        fig, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 2.6), squeeze=False)
        for ax, (key, points) in zip(axes[0], sorted(curves.items()), strict=True):
            ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", color="#3b6ea5")
            ax.set_title(key, fontsize=9)
            ax.set_xlabel("step")
        last = [[key, round(points[-1][1], 4), len(points)] for key, points in sorted(curves.items())]
        parts.append(f"<h3>{html.escape(_relative(run, root))}</h3>" + _table(["metric", "last", "points"], last) + _png(fig))
    return "".join(parts) or "<p>No training logs found in this run.</p>"


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
    return "".join(parts) or "<p>No crawl in this run.</p>"


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
    return "".join(parts) or "<p>No extracted pages in this run.</p>"


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
    return "".join(parts) or "<p>No line cleaning in this run.</p>"


SECTIONS = [
    ("crawl", "Crawl: fetched, skipped, failed", crawl_section),
    ("extraction", "Extraction: which extractor won", extraction_section),
    ("funnel", "Funnel: documents through the stages", funnel_section),
    ("cleaning", "Line cleaning: boilerplate removed", cleaning_section),
    ("documents", "Documents: lengths and scores", documents_section),
    ("dedup", "Deduplication clusters", dedup_section),
    ("datasets", "Built datasets", datasets_section),
    ("training", "Training curves", training_section),
]

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}img{margin:.3em;vertical-align:top}nav a{margin-right:1em}
"""


def write_report(run_dir: str | Path) -> Path:
    root = Path(run_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such folder")
    run = RunFolder(root)
    body = "".join(f'<section id="{sid}"><h2>{title}</h2>{build(run)}</section>' for sid, title, build in SECTIONS)
    nav = "".join(f'<a href="#{sid}">{title.split(":")[0]}</a>' for sid, title, _ in SECTIONS)
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>jinglian report: {html.escape(root.name)}</title>'
        f'<link rel="icon" href="data:,"><style>{STYLE}</style></head>'
        f"<body><h1>jinglian report: {html.escape(root.name)}</h1><nav>{nav}</nav>{body}</body></html>"
    )
    out = root / "report.html"
    out.write_text(page, encoding="utf-8")
    return out
