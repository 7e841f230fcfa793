"""Where curated documents are written: datatrove's writers in datatrove's document layout.

Its own module so that every producer of documents (curate, dedup, filter, crawl) imports the
writer without importing each other (``curate`` -> ``dedup.runner`` -> ``curate`` was a circle).
"""

from __future__ import annotations

from pathlib import Path

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

OUTPUT_FORMATS = ("jsonl", "parquet")


def document_writer(folder: Path, fmt: str = "jsonl") -> PipelineStep:
    """Datatrove's writers, in datatrove's document layout (``id``, ``text``, ``metadata``)."""
    if fmt == "jsonl":
        return JsonlWriter(str(folder), output_filename="${rank}.jsonl.gz")
    if fmt == "parquet":
        return ParquetWriter(str(folder), output_filename="${rank}.parquet")
    raise ValueError(f"unknown output format {fmt!r} (choose from {', '.join(OUTPUT_FORMATS)})")
