"""Decontamination for the dataset builders (``jinglian build sft|multiturn|preference --benchmarks``).

Instruction data is where contamination hurts most: a record whose prompt or responses contain a
benchmark item is taken out of the kept records, counted as rejected ``contaminated`` (so the books
still balance: records in = kept + rejected) and written to ``OUT/rejected.jsonl`` with its matches.
"""

from __future__ import annotations

import json
from pathlib import Path

from jinglian.corpus.decontam import index_dir, matches_dir, prepare_index
from jinglian.corpus.decontam.index import DecontIndex, MatchConfig
from jinglian.corpus.decontam.step import CONTAMINATED


def record_text(record) -> str:
    """Every text of a parsed record: system prompt, turns, prompt, chosen and rejected responses."""
    parts = [getattr(record, "system", None) or ""]
    for name in ("messages", "prompt"):
        value = getattr(record, name, None)
        if isinstance(value, list):
            parts += [m.content for m in value]
        elif isinstance(value, str):
            parts.append(value)
    for pair in getattr(record, "pairs", None) or []:
        parts += [pair[0], pair[1]]
    return "\n".join(p for p in parts if p)


def decontaminate_records(records: list, rejects: list, books, out: Path, benchmarks: list[str],
                          fields: list[str] | None = None, config: MatchConfig | None = None) -> list:
    """``records`` without the contaminated ones, which go to ``rejects`` (and the books) with their matches."""
    from jinglian.formats.collect import Rejected

    prepare_index(out, benchmarks, fields, config)
    index = DecontIndex(index_dir(out))
    matches = matches_dir(out)
    matches.mkdir(parents=True, exist_ok=True)
    kept = []
    with open(matches / "00000.jsonl", "w", encoding="utf-8") as log:
        for rec in records:
            text = record_text(rec)
            hits = index.find(text)
            if not hits:
                kept.append(rec)
                continue
            found = [h.as_dict(text) for h in hits]
            source = getattr(rec, "source", "")
            log.write(json.dumps({"id": source, "action": "drop", "hits": found}, ensure_ascii=False) + "\n")
            books.kept -= 1
            books.rejected[CONTAMINATED] += 1
            detail = "; ".join(f"{h.benchmark}:{h.item_id} (share {h.share:.2f}, run {h.run})" for h in hits)
            rejects.append(Rejected(source, CONTAMINATED, detail, {"matches": found}))
    return kept
