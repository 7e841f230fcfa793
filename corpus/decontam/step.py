"""The datatrove step: drop documents that contain benchmark items, or cut the copied spans out.

    Decontaminate(index_dir, mode="drop" | "cut", rejects_dir=..., matches_dir=...)

``drop`` (default): a document with any item found goes to ``rejected/decontaminate/`` with
``reject_reason = "contaminated"``, ``reject_value = "<benchmark>:<item id>"`` (the first one) and
every hit in ``metadata["decontam"]``. ``cut``: the matched spans are removed and the rest is kept,
with the hits (spans in the text before the cut) as JSON in ``metadata["decontam_cut"]``; a document
with nothing left after the cut is dropped as ``empty_after_cut``.

Every match (both modes) is also written to ``matches_dir/<rank>.jsonl``, one line per document:
the report's contamination section and ``jinglian decontaminate``'s summary read these. A task that
is run again (resume after a kill) rewrites its own file, so the counts never double.
"""

from __future__ import annotations

import json
from pathlib import Path

from datatrove.data import DocumentsPipeline

from jinglian.corpus.decontam.index import DecontIndex, Hit
from jinglian.corpus.stats import IN, KEPT, AccountedStep

MODES = ("drop", "cut")
CONTAMINATED = "contaminated"
EMPTY_AFTER_CUT = "empty_after_cut"


def cut_spans(text: str, hits: list[Hit]) -> str:
    """``text`` without the spans of ``hits`` (overlapping spans cut once); a cut leaves a line break."""
    spans = sorted(s for h in hits for s in h.spans)
    parts, at = [], 0
    for a, b in spans:
        if a > at:
            parts.append(text[at:a])
        at = max(at, b)
    parts.append(text[at:])
    return "\n".join(p.strip() for p in parts if p.strip())


class Decontaminate(AccountedStep):
    """Finds benchmark items in each document (see :mod:`jinglian.corpus.decontam.index`)."""

    name = "decontaminate"

    def __init__(self, index_dir: str | Path, mode: str = "drop", rejects_dir: str | None = None,
                 matches_dir: str | Path | None = None):
        super().__init__(rejects_dir)
        if mode not in MODES:
            raise ValueError(f"decontamination mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.index_dir, self.mode = str(index_dir), mode
        self.matches_dir = str(matches_dir) if matches_dir else None
        self._index: DecontIndex | None = None

    @property
    def index(self) -> DecontIndex:
        if self._index is None:  # loaded (memory-mapped) once per worker process
            self._index = DecontIndex(self.index_dir)
        return self._index

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        log = None
        if self.matches_dir:
            Path(self.matches_dir).mkdir(parents=True, exist_ok=True)
            log = open(Path(self.matches_dir) / f"{rank:05d}.jsonl", "w", encoding="utf-8")
        try:
            with self.rejects() as rejects:
                for doc in data:
                    self.stat_update(IN)
                    with self.track_time():
                        hits = self.index.find(doc.text)
                    if not hits:
                        self.stat_update(KEPT)
                        yield doc
                        continue
                    records = [h.as_dict(doc.text) for h in hits]
                    for bench in sorted({h.benchmark for h in hits}):
                        self.stat_update(f"{CONTAMINATED}/{bench}")
                    action = self.mode
                    if self.mode == "cut":
                        doc.text = cut_spans(doc.text, hits)
                        action = "cut" if doc.text else "drop"
                    if log:
                        log.write(json.dumps({"id": doc.id, "action": action, "hits": records}, ensure_ascii=False) + "\n")
                    if action == "cut":
                        self.stat_update("cut_documents")
                        doc.metadata["decontam_cut"] = json.dumps(records, ensure_ascii=False)
                        self.stat_update(KEPT)
                        yield doc
                    else:
                        doc.metadata["decontam"] = records
                        reason = CONTAMINATED if self.mode == "drop" else EMPTY_AFTER_CUT
                        self.drop(doc, (reason, f"{hits[0].benchmark}:{hits[0].item_id}"), rank, rejects)
        finally:
            if log:
                log.close()
