"""Read records from files, validate them, and keep the books: records in = kept + rejected.

Every builder goes through :func:`collect`, so ``--on-error fail|skip`` and the rejects file behave
the same for SFT, multi-turn, preference and prompt data. With ``fail`` the first bad record stops
the run with an :class:`~jinglian.corpus.readers.InputError` naming file, line/index and field;
with ``skip`` it is written to ``rejected.jsonl`` with that reason and the run goes on. A well-formed
record with nothing to train on (:class:`~jinglian.formats.schema.NothingToTrain`: no answer, a blank
answer) is always dropped that way and counted, never stops the run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from jinglian.corpus.readers import InputError
from jinglian.formats.schema import Located, NothingToTrain, expand_record_files, iter_raw_records

T = TypeVar("T")
ON_ERROR = ("fail", "skip")


@dataclass
class Books:
    """Counts for the summary and the dataset card. ``records_in == kept + sum(rejected)``."""

    records_in: int = 0
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)  # reason -> records
    notes: Counter = field(default_factory=Counter)  # repairs and length handling, e.g. turns_dropped
    samples: int = 0  # samples written (a record can give several, e.g. --strategy expand)
    dropped_samples: Counter = field(default_factory=Counter)  # reason -> samples (duplicate, too_long)
    files: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.records_in == self.kept + sum(self.rejected.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "records_in": self.records_in, "kept": self.kept, "rejected": dict(self.rejected),
            "notes": dict(self.notes), "samples": self.samples, "dropped_samples": dict(self.dropped_samples),
            "files": self.files, "balanced": self.balanced,
        }


@dataclass
class Rejected:
    where: str
    reason: str
    detail: str
    record: Any = None

    def as_json(self) -> str:
        return json.dumps(
            {"where": self.where, "reason": self.reason, "detail": self.detail, "record": self.record},
            ensure_ascii=False, default=str,
        )


def collect(inputs: list[str], parse: Callable[[Located], T], on_error: str = "fail") -> tuple[list[T], list[Rejected], Books]:
    """Parse every record of every input file with ``parse`` (which raises InputError on bad input)."""
    if on_error not in ON_ERROR:
        raise ValueError(f"--on-error must be 'fail' or 'skip', not {on_error!r}")
    files = expand_record_files(inputs)
    books = Books(files=files)
    kept: list[T] = []
    rejects: list[Rejected] = []
    for path in files:
        for item in iter_raw_records(path):
            books.records_in += 1
            if isinstance(item, Located):
                try:
                    kept.append(parse(item))
                    books.kept += 1
                    continue
                except InputError as err:
                    error, record = err, item.record
            else:
                error, record = item, None
            if on_error == "fail" and not isinstance(error, NothingToTrain):
                raise error
            books.rejected[error.reason] += 1
            where = error.path if error.line is None else f"{error.path}:{error.line}"
            rejects.append(Rejected(where, error.reason, error.detail, record))
    return kept, rejects, books


def write_rejects(rejects: list[Rejected], out: Path) -> Path:
    path = out / "rejected.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for r in rejects:
            f.write(r.as_json() + "\n")
    return path
