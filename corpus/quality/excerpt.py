"""The two-window excerpt the quality labels were made on, so annotation, training and scoring see
the same kind of text.

``shared/data/quality/hplt_zh_annotated/excerpts.jsonl`` (2,037 items) has this shape: a document
of at most 1,000 characters is whole (501-1,000 characters, 927 items); a longer one is the first
500 characters of its first half and the first 500 of its second half joined by ten dots (1,012
characters: 1,023 items joined by ``"\\n..........\\n"``, 86 with those newlines collapsed to spaces).
Here whitespace is collapsed first (runs of spaces, tabs and newlines become one space) and the
windows are joined by the collapsed form, so an excerpt is one line and ``excerpt(excerpt(t)) ==
excerpt(t)``: text that is already an excerpt (such as the labelled items) only has its whitespace
collapsed.
"""

from __future__ import annotations

WINDOW = 500  # characters taken from the start of each half
SEPARATOR = " .......... "  # joins the two windows, as in the labelled excerpts (newlines collapsed)


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def excerpt(text: str, window: int = WINDOW) -> str:
    """``text`` whitespace-collapsed; if longer than two windows and the separator (1,012 characters),
    the first ``window`` characters of each half joined by :data:`SEPARATOR`."""
    flat = collapse_whitespace(text)
    if len(flat) <= 2 * window + len(SEPARATOR):
        return flat
    half = len(flat) // 2
    return flat[:window] + SEPARATOR + flat[half : half + window]
