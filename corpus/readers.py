"""Read documents from JSONL(.gz), Parquet and plain text files, and account for every record.

Why our own reader instead of datatrove's ``JsonlReader``/``ParquetReader``: theirs log and skip a
malformed line, which loses it without a trace. Here a bad record either stops the run with a
one-line :class:`InputError` naming file, line and field (``on_error="fail"``, the default), or
goes to ``rejected/read/`` with its reason (``on_error="skip"``). Each input file is one unit of
work, so files are shared between tasks ``files[rank::world_size]``.

A file that cannot be read at all (empty, wrong Parquet schema) counts as one record dropped.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline

from jinglian.corpus.stats import IN, KEPT, AccountedStep

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)
TEXT_SUFFIXES = (".txt", ".txt.gz")
SUPPORTED_SUFFIXES = JSONL_SUFFIXES + PARQUET_SUFFIXES + TEXT_SUFFIXES
# A lone surrogate ("\ud83d": half of an emoji cut by a truncating exporter) is valid JSON but not
# Unicode: no step can encode it as UTF-8, so it would stop the run wherever it is first written.
# It can only come from a \uD8xx-\uDFxx escape, so the raw line is checked before the record.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(Exception):
    """A user's input is malformed. ``str(err)`` is the one-line message the CLI prints."""

    def __init__(self, path: str, line: int | None, reason: str, detail: str):
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {detail}")
        self.path, self.line, self.reason, self.detail = path, line, reason, detail

    def __reduce__(self):  # keep it picklable across worker processes
        return (InputError, (self.path, self.line, self.reason, self.detail))


def expand_inputs(paths: list[str], suffixes: tuple[str, ...] = SUPPORTED_SUFFIXES) -> list[str]:
    """Input files in a stable order; folders are searched recursively for files ending in ``suffixes``.

    The one place every command turns its INPUT... arguments into files (documents, web pages,
    instruction records), so they all name a missing or unsupported input the same way.
    """
    files: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))
            if not found:
                raise InputError(raw, None, "no_input", f"no {'/'.join(suffixes)} files in this folder")
            files.extend(found)
        elif path.is_file():
            if not path.name.lower().endswith(suffixes):
                raise InputError(raw, None, "unsupported", f"unsupported file type (use {', '.join(suffixes)})")
            files.append(str(path))
        else:
            raise InputError(raw, None, "missing", "no such file or folder")
    return files


def _open_bytes(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


@contextlib.contextmanager
def _broken_file(path: str, where: Callable[[], int | None] = lambda: None):
    """A truncated or corrupt compressed file stops the run naming the file, in every --on-error
    mode: it is not one bad record, and what follows the damage cannot be read."""
    try:
        yield
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        line = where()
        after = f" after line {line}" if line else ""
        raise InputError(path, None, "truncated_file", f"truncated or corrupt compressed file{after} ({err})") from None


def _decode(raw: bytes, path: str, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(path, line, "invalid_utf8", f"invalid UTF-8 at byte {err.start} of the line") from None


def _metadata(value, path: str, line: int) -> dict:
    """A record's ``metadata`` as a dict: an object, or the JSON text of one (what a Parquet export
    by ``datasets`` holds when it typed the column as Json); None or absent is empty."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as err:
            raise InputError(path, line, "bad_metadata", f"field 'metadata': a string that is not JSON ({err.msg})") from None
    if not isinstance(value, dict):
        raise InputError(path, line, "bad_metadata", f"field 'metadata': expected an object, got {type(value).__name__}")
    return dict(value)


def _check_surrogates(value, path: str, line: int, name: str = "") -> None:
    """Raise an InputError naming the first field that holds a lone surrogate."""
    if isinstance(value, str):
        found = LONE_SURROGATE.search(value)
        if found:
            raise InputError(
                path, line, "lone_surrogate",
                f"field '{name}': lone surrogate U+{ord(found.group()):04X} at character {found.start()} "
                "(half of a UTF-16 pair, e.g. a truncated emoji: not valid Unicode)",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_surrogates(key, path, line, name)
            _check_surrogates(item, path, line, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_surrogates(item, path, line, f"{name}[{i}]")


class DocumentReader(AccountedStep):
    """Reads documents; ``in`` counts records read, ``kept`` documents passed on."""

    name = "read"

    def __init__(
        self,
        files: list[str],
        text_key: str = "text",
        id_key: str = "id",
        txt_mode: str = "file",
        on_error: str = "fail",
        rejects_dir: str | None = None,
    ):
        super().__init__(rejects_dir)
        if txt_mode not in ("file", "paragraph"):
            raise ValueError(f"txt_mode must be 'file' or 'paragraph', not {txt_mode!r}")
        if on_error not in ("fail", "skip"):
            raise ValueError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
        self.files, self.text_key, self.id_key = files, text_key, id_key
        self.txt_mode, self.on_error = txt_mode, on_error

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        with self.rejects() as rejects:
            for path in self.files[rank::world_size]:
                for item in self._records(path):
                    self.stat_update(IN)
                    if isinstance(item, InputError):
                        if self.on_error == "fail":
                            raise item
                        bad = Document(text=getattr(item, "raw", ""), id=f"{item.path}:{item.line or 0}")
                        bad.metadata.update(source_file=item.path, source_line=item.line, error=item.detail)
                        self.drop(bad, item.reason, rank, rejects)
                    else:
                        self.stat_update(KEPT)
                        self.update_doc_stats(item)
                        yield item

    def _records(self, path: str) -> Iterator[Document | InputError]:
        """Documents, or an InputError in place of each bad record (the caller decides what to do)."""
        if path.endswith(PARQUET_SUFFIXES):
            yield from self._parquet(path)
        elif path.endswith(TEXT_SUFFIXES):
            yield from self._text(path)
        else:
            yield from self._jsonl(path)

    def _jsonl(self, path: str) -> Iterator[Document | InputError]:
        seen_any = False
        lineno = 0
        with _open_bytes(path) as f, _broken_file(path, lambda: lineno):
            for lineno, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                seen_any = True
                try:
                    record = self._parse_json(raw, path, lineno)
                    if _SURROGATE_ESCAPE.search(raw):
                        _check_surrogates(record, path, lineno)
                    yield self._from_record(record, path, lineno)
                except InputError as err:
                    err.raw = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
                    yield err
        if not seen_any:
            yield InputError(path, None, "empty_file", "file is empty")

    @staticmethod
    def _parse_json(raw: bytes, path: str, lineno: int) -> dict:
        line = _decode(raw, path, lineno)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(path, lineno, "malformed_json", f"malformed JSON ({err.msg.removesuffix(' at')} at column {err.colno})") from None
        if not isinstance(record, dict):
            raise InputError(path, lineno, "not_an_object", f"expected a JSON object, got {type(record).__name__}")
        return record

    def _from_record(self, record: dict, path: str, lineno: int) -> Document:
        text = record.get(self.text_key)
        if text is None:
            raise InputError(path, lineno, "missing_text", f"field '{self.text_key}': missing")
        if not isinstance(text, str):
            raise InputError(path, lineno, "text_not_string", f"field '{self.text_key}': expected a string, got {type(text).__name__}")
        if not text.strip():
            raise InputError(path, lineno, "empty_text", f"field '{self.text_key}': empty")
        metadata = _metadata(record.get("metadata"), path, lineno)
        metadata |= {k: v for k, v in record.items() if k not in (self.text_key, self.id_key, "metadata", "media")}
        # where the record came from, so that a step further on can name it in its rejects
        metadata.setdefault("source_file", path)
        metadata.setdefault("source_line", lineno)
        doc_id = record.get(self.id_key)
        return Document(text=text, id=str(doc_id) if doc_id is not None else f"{path}/{lineno}", metadata=metadata)

    def _parquet(self, path: str) -> Iterator[Document | InputError]:
        try:
            table = pq.ParquetFile(path)
        except Exception as err:  # pyarrow raises several types for a non-Parquet file
            yield InputError(path, None, "unreadable_parquet", f"not a readable Parquet file ({err})")
            return
        columns = table.schema_arrow.names
        if self.text_key not in columns:
            yield InputError(path, None, "wrong_schema", f"field '{self.text_key}': no such column (columns: {', '.join(columns)})")
            return
        if table.metadata.num_rows == 0:
            yield InputError(path, None, "empty_file", "file has no rows")
            return
        row_number = 0
        for batch in table.iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                row_number += 1
                try:
                    yield self._from_record(record, path, row_number)
                except InputError as err:
                    err.raw = json.dumps(record, ensure_ascii=False, default=str)
                    yield err

    def _text(self, path: str) -> Iterator[Document | InputError]:
        with _open_bytes(path) as f, _broken_file(path):
            raw = f.read()
        if not raw.strip():
            yield InputError(path, None, "empty_file", "file is empty")
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            line = raw[: err.start].count(b"\n") + 1
            bad = InputError(path, line, "invalid_utf8", f"invalid UTF-8 at byte {err.start}")
            bad.raw = raw.decode("utf-8", errors="replace")
            yield bad
            return
        if self.txt_mode == "file":
            yield Document(text=text, id=path)
            return
        # paragraph mode: blocks separated by blank lines, each block one document
        block: list[str] = []
        start = 1
        for lineno, line in enumerate(text.splitlines() + [""], start=1):
            if line.strip():
                if not block:
                    start = lineno
                block.append(line)
            elif block:
                yield Document(text="\n".join(block), id=f"{path}/{start}", metadata={"source_line": start})
                block = []
