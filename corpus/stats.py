"""Books that balance: every step that can drop a document says why, and the sums must hold.

Each accounted step counts three datatrove stats: ``in`` (documents or records it received),
``kept`` (documents it passed on) and ``dropped/<reason>`` (one counter per named reason).
Dropped documents are written, with ``rejected_by`` / ``reject_reason`` (and the failing value,
when there is one) in their metadata, to ``OUT/rejected/<step>/``.

After a run, :func:`read_books` sums the per-task stats that datatrove's executors save under
``logs/stats/`` (so a resumed run still counts the tasks finished before the kill) and checks
``in == kept + sum(dropped)`` for every step and for the whole pipeline.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers import JsonlWriter

IN = "in"
KEPT = "kept"
DROPPED = "dropped/"

# A verdict is None (keep), a reason, or (reason, value that failed the rule).
Verdict = None | str | tuple[str, Any]


def step_slug(name: str) -> str:
    """Folder-safe form of a step name, used for ``rejected/<step>/``."""
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")


class AccountedStep(PipelineStep):
    """Base for steps that may drop documents: counts in/kept/dropped and saves what it drops."""

    type = "jinglian"

    def __init__(self, rejects_dir: str | None = None):
        super().__init__()
        self.rejects_dir = rejects_dir

    @contextlib.contextmanager
    def rejects(self) -> Iterator[JsonlWriter | None]:
        """The writer for this step's rejected documents (None when rejects are not kept)."""
        if not self.rejects_dir:
            yield None
            return
        writer = JsonlWriter(f"{self.rejects_dir}/{step_slug(self.name)}", output_filename="${rank}.jsonl.gz")
        with writer:
            yield writer

    def drop(self, doc: Document, verdict: str | tuple[str, Any], rank: int, rejects: JsonlWriter | None):
        reason, value = verdict if isinstance(verdict, tuple) else (verdict, None)
        self.stat_update(DROPPED + reason)
        if rejects is not None:
            doc.metadata["rejected_by"] = self.name
            doc.metadata["reject_reason"] = reason
            if value is not None:
                doc.metadata["reject_value"] = value
            rejects.write(doc, rank)


class AccountedFilter(AccountedStep):
    """A step that looks at one document at a time and keeps it or drops it for a named reason.

    Subclasses implement :meth:`check`, which may also rewrite the document (normalizers do).
    """

    def check(self, doc: Document) -> Verdict:
        raise NotImplementedError

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.rejects() as rejects:
            for doc in data:
                self.stat_update(IN)
                with self.track_time():
                    verdict = self.check(doc)
                if verdict is None:
                    self.stat_update(KEPT)
                    yield doc
                else:
                    self.drop(doc, verdict, rank, rejects)


@dataclass
class StepBooks:
    step: str
    docs_in: int
    kept: int
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.docs_in == self.kept + sum(self.dropped.values())


@dataclass
class RunBooks:
    steps: list[StepBooks]

    @property
    def docs_in(self) -> int:
        return self.steps[0].docs_in if self.steps else 0

    @property
    def kept(self) -> int:
        return self.steps[-1].kept if self.steps else 0

    @property
    def dropped(self) -> dict[str, int]:
        return {f"{s.step}/{r}": n for s in self.steps for r, n in s.dropped.items()}

    @property
    def balanced(self) -> bool:
        """Each step balances, each step receives what the previous kept, and the run adds up."""
        chained = all(a.kept == b.docs_in for a, b in zip(self.steps, self.steps[1:], strict=False))
        return (
            all(s.balanced for s in self.steps)
            and chained
            and self.docs_in == self.kept + sum(self.dropped.values())
        )

    def to_dict(self) -> dict:
        return {
            "in": self.docs_in,
            "kept": self.kept,
            "dropped": self.dropped,
            "balanced": self.balanced,
            "steps": [{"step": s.step, "in": s.docs_in, "kept": s.kept, "dropped": s.dropped} for s in self.steps],
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")


def _count(value) -> int:
    """A counter as datatrove saves it: a bare number, or ``{"total": n, ...}``."""
    return int(value["total"] if isinstance(value, dict) else value)


def read_books(logging_dir: str | Path) -> RunBooks:
    """Sum the per-task stats datatrove saved under ``logging_dir/stats`` into per-step books.

    Reading every task's file (not the merged ``stats.json``) keeps the counts of tasks that
    finished before an interrupted run was resumed.
    """
    order: list[str] = []
    totals: dict[str, dict[str, int]] = {}
    for path in sorted(Path(logging_dir, "stats").glob("*.json")):
        for step in json.loads(path.read_text()):
            counters = step["stats"]
            if IN not in counters:  # writers and other steps that never drop
                continue
            name = step["name"].split(": ", 1)[-1]
            if name not in totals:
                order.append(name)
                totals[name] = {}
            for key, value in counters.items():
                if key in (IN, KEPT) or key.startswith(DROPPED):
                    totals[name][key] = totals[name].get(key, 0) + _count(value)
    steps = []
    for name in order:
        counts = totals[name]
        dropped = {k.removeprefix(DROPPED): n for k, n in counts.items() if k.startswith(DROPPED)}
        steps.append(StepBooks(name, counts.get(IN, 0), counts.get(KEPT, 0), dropped))
    return RunBooks(steps)
