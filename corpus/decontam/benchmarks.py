"""Read the benchmark items a user has on disk into :class:`Item` s (benchmark, id, text).

Accepted: JSONL, JSON, CSV, Parquet files, folders of them, and ``datasets`` ``save_to_disk``
folders. Built-in layouts (picked per file from its columns):

* C-Eval: CSV ``id,question,A,B,C,D,answer[,explanation]``, item id ``<file stem>/<id>``;
* CMMLU: CSV ``,Question,A,B,C,D,Answer`` (first column the row number), id ``<file stem>/<row>``;
* GAOKAO-Bench: JSON ``{"example": [{"question", "answer", "index", ...}]}`` (options are inside
  ``question``), id ``<file stem>/<index>``; the exam scaffolding ``1．（4分）`` that pages drop
  or renumber is taken off the question;
* generic: any record with a ``question`` field (any case) plus option fields ``A``..``H`` or a
  list/dict ``options`` / ``choices``; or the fields the user names (``fields=["stem", "opts"]``).

The item text is the question and its options. The answer is left out when it is only option
letters (``C``, ``["A", "D"]``): a letter says nothing about whether a page copied the question.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jinglian.corpus.readers import InputError

BENCHMARK_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
OPTION_KEYS = tuple("ABCDEFGH")
LIST_OPTION_KEYS = ("options", "choices")
_LETTERS_ONLY = re.compile(r"^[\sA-Ha-h,，、;；]*$")
# "1．（ 4分）", "5. （5 分)": the exam's numbering and marks, which pages renumber or drop.
_SCAFFOLD = re.compile(r"^\s*\d+\s*[.．、]\s*[（(]\s*\d+\s*分\s*[)）]\s*")


@dataclass(frozen=True)
class Item:
    benchmark: str
    item_id: str
    text: str


def _field(record: dict, name: str):
    """``record[name]``, else the first key equal to ``name`` ignoring case (CMMLU's ``Question``)."""
    if name in record:
        return record[name]
    return next((v for k, v in record.items() if isinstance(k, str) and k.lower() == name.lower()), None)


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(f"{OPTION_KEYS[i]}. {v}" if i < len(OPTION_KEYS) else str(v) for i, v in enumerate(value))
    if isinstance(value, dict):
        return "\n".join(f"{k}. {v}" for k, v in value.items())
    return str(value)


def item_text(record: dict, fields: list[str] | None, where: str) -> str:
    """The text of one test item: the named ``fields``, or question + options found by name."""
    if fields:
        missing = [f for f in fields if _field(record, f) is None]
        if missing:
            raise InputError(where, None, "missing_field", f"field {missing[0]!r} missing (fields: {', '.join(map(str, record))})")
        parts = [_as_text(_field(record, f)) for f in fields]
        return "\n".join(p for p in parts if p.strip())
    question = _field(record, "question")
    if question is None:
        raise InputError(where, None, "missing_field",
                         f"no 'question' field (fields: {', '.join(map(str, record))}); name the item fields with --item-fields")
    parts = [_SCAFFOLD.sub("", str(question))]
    options = [(k, record[k]) for k in OPTION_KEYS if k in record and record[k] not in (None, "")]
    parts += [f"{k}. {v}" for k, v in options]
    for key in LIST_OPTION_KEYS:
        if _field(record, key) is not None:
            parts.append(_as_text(_field(record, key)))
    answer = _field(record, "answer")
    answer_text = _as_text(answer) if not isinstance(answer, list) else " ".join(map(str, answer))
    if answer_text and not _LETTERS_ONLY.match(answer_text):
        parts.append(answer_text)
    return "\n".join(p for p in parts if p.strip())


def _csv_records(path: Path) -> Iterator[tuple[str, dict]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        for row_number, row in enumerate(reader):
            first = reader.fieldnames[0] if reader.fieldnames else ""
            # C-Eval has an "id" column; CMMLU's first column is the unnamed row number.
            rid = row.get("id") or (row.get(first) if first in ("", "Unnamed: 0") else None) or str(row_number)
            yield f"{path.stem}/{rid}", {k: v for k, v in row.items() if k not in ("", None)}


def _json_records(path: Path) -> Iterator[tuple[str, dict]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(str(path), err.lineno, "invalid_json", f"invalid JSON: {err.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("example"), list):  # GAOKAO-Bench
        data = data["example"]
    if not isinstance(data, list):
        raise InputError(str(path), None, "invalid_json", "expected a JSON array of items or GAOKAO-Bench's {\"example\": [...]}")
    for i, rec in enumerate(data):
        rid = rec.get("index", rec.get("id", i)) if isinstance(rec, dict) else i
        yield f"{path.stem}/{rid}", rec


def _jsonl_records(path: Path) -> Iterator[tuple[str, dict]]:
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(str(path), lineno, "invalid_json", f"invalid JSON: {err.msg}") from None
            rid = rec.get("id", lineno) if isinstance(rec, dict) else lineno
            yield f"{path.stem}/{rid}", rec


def _table_records(rows, stem: str) -> Iterator[tuple[str, dict]]:
    for i, rec in enumerate(rows):
        yield f"{stem}/{rec.get('id', rec.get('index', i))}", rec


def _records(path: Path) -> Iterator[tuple[str, dict]]:
    name = path.name.lower()
    if name.endswith(".csv"):
        yield from _csv_records(path)
    elif name.endswith(".jsonl"):
        yield from _jsonl_records(path)
    elif name.endswith(".json"):
        yield from _json_records(path)
    elif name.endswith(".parquet"):
        import pyarrow.parquet as pq

        yield from _table_records(pq.read_table(path).to_pylist(), path.stem)


def _is_datasets_folder(path: Path) -> bool:
    return path.is_dir() and any((path / n).exists() for n in ("dataset_info.json", "state.json", "dataset_dict.json"))


def _datasets_records(path: Path) -> Iterator[tuple[str, dict]]:
    from datasets import DatasetDict, load_from_disk

    ds = load_from_disk(str(path))
    splits = ds.items() if isinstance(ds, DatasetDict) else [("", ds)]
    for split, part in splits:
        yield from _table_records(part, f"{split}" if split else path.name)


def parse_spec(spec: str) -> tuple[str, Path]:
    """``NAME=PATH`` or ``PATH`` (the name is then the file stem or folder name)."""
    name, sep, raw = spec.partition("=")
    if not sep or Path(spec).exists():
        raw, name = spec, ""
    path = Path(raw)
    if not path.exists():
        raise InputError(raw, None, "missing", "no such benchmark file or folder")
    return name or (path.name if path.is_dir() else path.stem), path


def read_benchmark(spec: str, fields: list[str] | None = None) -> list[Item]:
    """Every item of one benchmark given as ``[NAME=]PATH`` (a file, a folder, a datasets folder)."""
    name, path = parse_spec(spec)
    if _is_datasets_folder(path):
        sources = [(str(path), _datasets_records(path))]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(BENCHMARK_SUFFIXES))
        if not files:
            raise InputError(str(path), None, "no_input", f"no {'/'.join(BENCHMARK_SUFFIXES)} files in this folder")
        sources = [(str(p), _records(p)) for p in files]
    elif path.name.lower().endswith(BENCHMARK_SUFFIXES):
        sources = [(str(path), _records(path))]
    else:
        raise InputError(str(path), None, "unsupported", f"unsupported benchmark file (use {', '.join(BENCHMARK_SUFFIXES)})")
    items = []
    for where, records in sources:
        for item_id, rec in records:
            if not isinstance(rec, dict):
                raise InputError(where, None, "invalid_item", f"item {item_id}: expected an object, got {type(rec).__name__}")
            items.append(Item(name, item_id, item_text(rec, fields, f"{where} (item {item_id})")))
    return items
