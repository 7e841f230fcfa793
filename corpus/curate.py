"""The corpus pipeline behind ``jinglian curate``: plain lists of datatrove steps.

    web pages (WARC/WET/HTML) ─► read_web ─► extract ─┐
    documents (JSONL/Parquet/txt) ─► read ────────────┴─► normalize ─► filters ─► [decontaminate] ─► dedup ─► write

Without dedup this is one pipeline. With dedup it is the four stages of
:mod:`jinglian.corpus.dedup.runner`: the first runs everything up to the MinHash signatures and
spills the surviving documents to ``OUT/dedup/stage1``; buckets and clusters follow; the last
replays the spilled documents through the duplicate filter into the writer. Each stage has its
own completion markers, so a killed run resumes stage by stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers import JsonlWriter

from jinglian.corpus.normalize import Normalizer
from jinglian.corpus.readers import DocumentReader
from jinglian.corpus.writers import OUTPUT_FORMATS, document_writer  # noqa: F401 (re-exported)

SOURCES = ("documents", "web")


@dataclass
class CurateOptions:
    source: str = "documents"  # "web": WARC/WET/HTML/JSONL-with-html through extraction
    t2s: bool = True
    profile: str | None = None  # a filter profile (zh-web or a YAML path); None: no filtering
    dedup: bool = False
    threshold: float = 0.7  # estimated Jaccard of character n-grams (DedupConfig's length rule)
    index_dir: Path | None = None  # incremental dedup index
    fmt: str = "jsonl"
    txt_mode: str = "file"
    on_error: str = "fail"
    text_key: str = "text"
    id_key: str = "id"
    decontam_dir: Path | None = None  # OUT/decontam with a built index: run the decontaminate step
    decontam_mode: str = "drop"

    def dedup_config(self):
        """The dedup settings of this run (the LSH layout follows the threshold)."""
        from jinglian.corpus.dedup.minhash import DedupConfig

        return DedupConfig.for_threshold(self.threshold, t2s=self.t2s)


def source_steps(files: list[str], opts: CurateOptions, rejects: str) -> list[PipelineStep]:
    """Read (and, for web input, extract), normalize, filter: everything before dedup."""
    if opts.source == "web":
        from jinglian.corpus.extract import extract_steps

        steps = extract_steps(files, rejects_dir=rejects)
    elif opts.source == "documents":
        steps = [
            DocumentReader(files, text_key=opts.text_key, id_key=opts.id_key, txt_mode=opts.txt_mode,
                           on_error=opts.on_error, rejects_dir=rejects)
        ]
    else:
        raise ValueError(f"unknown source {opts.source!r} (choose from {', '.join(SOURCES)})")
    steps.append(Normalizer(t2s=opts.t2s, rejects_dir=rejects))
    if opts.profile:
        from jinglian.corpus.filters import filter_steps

        steps += filter_steps(opts.profile, rejects_dir=rejects)
    if opts.decontam_dir:
        from jinglian.corpus.decontam.step import Decontaminate

        steps.append(Decontaminate(opts.decontam_dir / "index", opts.decontam_mode, rejects, opts.decontam_dir / "matches"))
    return steps


def curate_pipeline(files: list[str], out: Path, opts: CurateOptions | None = None) -> list[PipelineStep]:
    """The one-pipeline form (no dedup): read → normalize → filters → write."""
    opts = opts or CurateOptions()
    return source_steps(files, opts, str(out / "rejected")) + [document_writer(out / "documents", opts.fmt)]


def in_rank_blocks(files: list[str], tasks: int) -> list[str]:
    """``files`` reordered so that ``result[rank::tasks]`` (how the readers share files) is the
    rank's contiguous block of the input order: rank 0 the first files, rank 1 the next, ...

    Dedup keeps the document with the smallest (rank, position), so this makes the survivor the
    earliest in input order (file order, then line) for any ``--tasks``; plain striding gave rank 0
    files 0, 2, 4 and rank 1 files 1, 3, so a document of file 2 beat its copy in file 1.
    """
    tasks = max(1, min(tasks, len(files)))
    result, start = list(files), 0
    for rank in range(tasks):
        size = len(files[rank::tasks])  # striding gives the first ranks one file more
        result[rank::tasks] = files[start : start + size]
        start += size
    return result


def curate_stages(files: list[str], out: Path, opts: CurateOptions, tasks: int):
    """The dedup form: the four dedup stages around the source steps (see the module docstring)."""
    from jinglian.corpus.dedup.index import DedupIndex
    from jinglian.corpus.dedup.runner import ReplayReader, dedup_stages

    rejects = str(out / "rejected")
    work = out / "dedup"
    config = opts.dedup_config()
    return dedup_stages(
        source=source_steps(in_rank_blocks(files, tasks), opts, rejects),
        spill=[JsonlWriter(str(work / "stage1"), output_filename="${rank}.jsonl", compression=None)],  # no gzip: read back once
        replay=[ReplayReader(work / "stage1")],
        sink=[document_writer(out / "documents", opts.fmt)],
        work=work,
        tasks=tasks,
        config=config,
        index=DedupIndex.open(opts.index_dir, config) if opts.index_dir else None,
        rejects_dir=rejects,
    )
