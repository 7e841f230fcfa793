"""The two-window excerpt the quality labels were made on, so annotation, training and scoring see
the same kind of text.

``shared/data/quality/hplt_zh_annotated/excerpts.jsonl`` (2,037 items) has this shape: a document
of at most 1,000 characters is whole (501-1,000 characters, 927 items); a longer one is the first
500 characters of its first half and the first 500 of its second half joined by a line of ten dots
(1,012 characters: 1,023 items with ``"\\n..........\\n"``, 86 with the newlines collapsed to spaces).
Here whitespace is always collapsed first (runs of spaces, tabs and newlines become one space), so
one document gives one excerpt whatever its line layout.
"""

from __future__ import annotations

WINDOW = 500  # characters taken from the start of each half
SEPARATOR = "\n..........\n"  # what joins the two windows in the labelled excerpts


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def excerpt(text: str, window: int = WINDOW) -> str:
    """``text`` whitespace-collapsed; if longer than ``2 * window`` characters, the first ``window``
    characters of each half joined by :data:`SEPARATOR`."""
    flat = collapse_whitespace(text)
    if len(flat) <= 2 * window:
        return flat
    half = len(flat) // 2
    return flat[:window] + SEPARATOR + flat[half : half + window]
