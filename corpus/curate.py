"""The corpus pipeline behind ``jinglian curate``: a plain list of datatrove steps.

Today: read → normalize → write. Later stages (extract, langid, filters, dedup) slot in between
as further steps of the same list.
"""

from __future__ import annotations

from pathlib import Path

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

from jinglian.corpus.normalize import Normalizer
from jinglian.corpus.readers import DocumentReader

OUTPUT_FORMATS = ("jsonl", "parquet")


def document_writer(folder: Path, fmt: str = "jsonl") -> PipelineStep:
    """Datatrove's writers, in datatrove's document layout (``id``, ``text``, ``metadata``)."""
    if fmt == "jsonl":
        return JsonlWriter(str(folder), output_filename="${rank}.jsonl.gz")
    if fmt == "parquet":
        return ParquetWriter(str(folder), output_filename="${rank}.parquet")
    raise ValueError(f"unknown output format {fmt!r} (choose from {', '.join(OUTPUT_FORMATS)})")


def curate_pipeline(
    files: list[str],
    out: Path,
    *,
    t2s: bool = True,
    fmt: str = "jsonl",
    txt_mode: str = "file",
    on_error: str = "fail",
    text_key: str = "text",
    id_key: str = "id",
) -> list[PipelineStep]:
    rejects = str(out / "rejected")
    return [
        DocumentReader(files, text_key=text_key, id_key=id_key, txt_mode=txt_mode, on_error=on_error, rejects_dir=rejects),
        Normalizer(t2s=t2s, rejects_dir=rejects),
        document_writer(out / "documents", fmt),
    ]
