"""What decontamination found in a run folder: per benchmark, items found and documents affected.

:func:`contamination_summary` reads ``OUT/decontam/matches/*.jsonl`` (written by the step) and the
index's item counts; :func:`contamination_section` renders it as an HTML fragment for the report.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path

from jinglian.corpus.decontam import index_dir, matches_dir


def contamination_summary(out: str | Path) -> dict | None:
    """``{benchmark: {"items", "items_found", "documents", "dropped", "cut", "top": [(item, docs)]}}``,
    or None when the folder has no decontamination."""
    folder = matches_dir(Path(out))
    meta_path = index_dir(Path(out)) / "meta.json"
    if not folder.is_dir() and not meta_path.exists():
        return None
    per_bench = json.loads(meta_path.read_text(encoding="utf-8")).get("per_benchmark", {}) if meta_path.exists() else {}
    docs: dict[str, dict[str, set]] = defaultdict(lambda: {"drop": set(), "cut": set()})
    items: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for line in open(path, encoding="utf-8"):
            rec = json.loads(line)
            for hit in rec["hits"]:
                docs[hit["benchmark"]][rec["action"]].add(rec["id"])
                items[hit["benchmark"]][hit["item_id"]] += 1
    summary = {}
    for bench in sorted(set(per_bench) | set(docs)):
        found = items.get(bench, {})
        summary[bench] = {
            "items": per_bench.get(bench, 0), "items_found": len(found),
            "documents": len(docs[bench]["drop"] | docs[bench]["cut"]),
            "dropped": len(docs[bench]["drop"]), "cut": len(docs[bench]["cut"]),
            "top": sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
        }
    return summary


def contamination_section(run) -> str:
    """HTML for the report (``run``: a folder or the report's RunFolder): per run folder under it
    that decontaminated, one row per benchmark plus its most copied items."""
    root = Path(getattr(run, "root", run))
    outs = sorted({p.parents[2] for p in root.rglob("decontam/index/meta.json")})
    parts = []
    for out in outs:
        rows = "".join(
            f"<tr><td>{html.escape(b)}</td><td>{s['items']}</td><td>{s['items_found']}</td>"
            f"<td>{s['documents']}</td><td>{s['dropped']}</td><td>{s['cut']}</td>"
            f"<td>{html.escape(', '.join(f'{i} ({n})' for i, n in s['top'])) or '-'}</td></tr>"
            for b, s in (contamination_summary(out) or {}).items()
        )
        title = html.escape(str(out.relative_to(root)) if out != root else out.name)
        parts.append(
            f"<h3>{title}</h3><table><tr><th>benchmark</th><th>items</th><th>items found</th>"
            "<th>documents affected</th><th>dropped</th><th>cut</th><th>most copied items (documents)</th></tr>"
            f"{rows}</table>"
        )
    if not parts:  # the report leaves out a section with nothing to show
        return ""
    return ("<p>Benchmark items found (NFKC, 繁→简, punctuation and option labels removed, character n-grams); "
            "every match is in <code>decontam/matches/</code>.</p>" + "".join(parts))
