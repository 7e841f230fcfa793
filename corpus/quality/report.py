"""The quality part of ``jinglian report``: score histogram and example documents per bucket."""

from __future__ import annotations

import html
from collections.abc import Iterable

BIN = 0.25  # histogram bin width on the 0-5 score
EXAMPLES_PER_BUCKET = 3
EXAMPLE_CHARS = 160


def quality_html(documents: Iterable[dict]) -> str:
    """An HTML fragment for documents with ``metadata.quality_score`` ("" when none has one):
    a histogram of the score (0-5) and a few documents from each ``quality_bucket``."""
    scores: list[float] = []
    examples: dict[int, list[tuple[float, str]]] = {}
    for doc in documents:
        meta = doc.get("metadata") or {}
        score = meta.get("quality_score")
        if not isinstance(score, int | float) or isinstance(score, bool):
            continue
        scores.append(float(score))
        bucket = meta.get("quality_bucket")
        if isinstance(bucket, int) and len(examples.setdefault(bucket, [])) < EXAMPLES_PER_BUCKET:
            examples[bucket].append((float(score), " ".join((doc.get("text") or "").split())[:EXAMPLE_CHARS]))
    if not scores:
        return ""
    bins = [0] * int(5 / BIN)
    for s in scores:
        bins[min(len(bins) - 1, max(0, int(s / BIN)))] += 1
    top = max(bins)
    bars = "".join(
        f'<tr><td>{i * BIN:.2f}-{(i + 1) * BIN:.2f}</td><td>{n}</td>'
        f'<td><div style="background:#3b6ea5;height:10px;width:{round(300 * n / top)}px"></div></td></tr>'
        for i, n in enumerate(bins) if n or any(bins[:i]) and any(bins[i:])
    )
    rows = "".join(
        f"<tr><td>{bucket}</td><td>{score:.2f}</td><td>{html.escape(text)}</td></tr>"
        for bucket in sorted(examples) for score, text in examples[bucket]
    )
    mean = sum(scores) / len(scores)
    return (
        f"<h4>quality score (0-5, learned; {len(scores)} documents, mean {mean:.2f})</h4>"
        f"<table><thead><tr><th>score</th><th>documents</th><th></th></tr></thead><tbody>{bars}</tbody></table>"
        + (f"<h4>examples by quality_bucket</h4><table><thead><tr><th>bucket</th><th>score</th><th>text</th>"
           f"</tr></thead><tbody>{rows}</tbody></table>" if rows else "")
    )
