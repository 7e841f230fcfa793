"""Near-duplicate prompt removal for built datasets, on the corpus dedup machinery.

Why per source record and not per row: ``--strategy expand`` makes several rows from one dialogue
whose prompts share a prefix, and a ranked list makes several pairs with one prompt; those are
not duplicates of each other. Each source record is represented by its longest prompt text (all
non-assistant turns), records are compared with :func:`jinglian.corpus.dedup.api.find_duplicates`
(character shingles, MinHash LSH, verified Jaccard; 繁→简 folded), and every row of a record that
near-duplicates an earlier one is dropped and counted. ``ngram=3``: instruction prompts are short,
which is what the dedup API recommends for them.
"""

from __future__ import annotations

from typing import Any

from jinglian.formats.collect import Books
from jinglian.formats.templates import KNOWN_MARKERS


def prompt_text(row: dict[str, Any]) -> str:
    """The prompt side of any built row (string prompt, message-list prompt, or ``messages``)."""
    prompt = row.get("prompt", row.get("messages"))
    if isinstance(prompt, str):  # a rendered alpaca prompt: compare the content, not the shared markup
        for marker in KNOWN_MARKERS:
            prompt = prompt.replace(marker, "")
        return prompt.strip()
    return "\n".join(m["content"] for m in prompt or [] if m["role"] != "assistant")


def drop_near_duplicate_prompts(rows: list[dict[str, Any]], threshold: float, books: Books, ngram: int = 3) -> list[dict[str, Any]]:
    """Rows without those whose source record's prompt near-duplicates an earlier record's (Jaccard ≥ threshold)."""
    from jinglian.corpus.dedup.api import find_duplicates
    from jinglian.corpus.dedup.minhash import DedupConfig

    if not 0 < threshold <= 1:
        raise ValueError(f"--near-dup must be a Jaccard similarity in (0, 1], not {threshold}")
    longest: dict[str, str] = {}
    for row in rows:
        text = prompt_text(row)
        if len(text) >= len(longest.get(row["source"], "")):
            longest[row["source"]] = text
    sources = list(longest)
    dups = find_duplicates([longest[s] for s in sources], DedupConfig.for_threshold(threshold, ngram=ngram))
    drop = {sources[d.index] for d in dups}
    kept = [r for r in rows if r["source"] not in drop]
    books.dropped_samples["near_duplicate_prompt"] += len(rows) - len(kept)
    books.notes["near_duplicate_records"] += len(drop)
    books.samples = len(kept)
    return kept
