"""Build and run the dedup stages on a datatrove executor (also the entry point for ``curate``).

:func:`dedup_stages` returns the four stages as plain pipelines; any caller chooses what produces
the documents. ``jinglian dedup`` reads the input files twice (signatures, then filtering); a
curate pipeline puts :class:`DedupSignature` after its filters with a writer behind it
(``spill``), and replays that writer's output with :class:`ReplayReader`::

    stages = dedup_stages(
        source=[reader, normalizer, *filters],
        spill=[JsonlWriter(f"{work}/stage1", output_filename="${rank}.jsonl", compression=None)],
        replay=[ReplayReader(f"{work}/stage1")], sink=[document_writer(out / "documents")],
        work=work, tasks=n_tasks, rejects_dir=str(out / "rejected"),
    )
    results = run_stages(stages, work, workers=workers)

Each stage logs under ``work/<n>_<stage>/logs`` (its own completion markers, so a killed run
resumes stage by stage). :func:`run_stages` waits for each stage, so it serves the executors that
block (local, Ray). On Slurm, submit the same four pipelines with datatrove's
``SlurmPipelineExecutor(..., depends=previous)``: the stages need nothing else.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from jinglian.corpus.dedup.index import DedupIndex
from jinglian.corpus.dedup.minhash import DEFAULT_CONFIG, DedupConfig
from jinglian.corpus.dedup.stages import DedupBuckets, DedupCluster, DedupFilter, DedupSignature, shard_prefix
from jinglian.corpus.dedup.store import SignatureSet
from jinglian.corpus.executors import ExecutorUnavailable, RunResult, run_pipeline
from jinglian.corpus.stats import RunBooks


@dataclass
class Stage:
    name: str
    pipeline: list[PipelineStep]
    tasks: int


class ReplayReader(PipelineStep):
    """Reads back ``folder/<rank>.jsonl`` (or ``.jsonl.gz``) written by datatrove's JsonlWriter in stage 1.

    Spill uncompressed (``compression=None``): it is read once and deleted with the work folder,
    and datatrove's gzip (level 9) costs ~1 ms a document, more than the whole dedup signature.

    Not datatrove's JsonlReader: that one shares *all* files among ranks, and a rank that wrote no
    documents has no file, which would shift every later rank onto the wrong shard.
    """

    type = "jinglian"
    name = "replay"

    def __init__(self, folder: str | Path):
        super().__init__()
        self.folder = str(folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        plain, packed = Path(self.folder) / f"{rank:05d}.jsonl", Path(self.folder) / f"{rank:05d}.jsonl.gz"
        if not plain.exists() and not packed.exists():
            return
        with open(plain, "rb") if plain.exists() else gzip.open(packed, "rb") as f:
            for line in f:
                record = json.loads(line)
                yield Document(text=record["text"], id=record["id"], metadata=record.get("metadata") or {})


def dedup_stages(
    source: list[PipelineStep],
    replay: list[PipelineStep] | None = None,
    sink: list[PipelineStep] = (),
    *,
    work: str | Path,
    tasks: int,
    config: DedupConfig = DEFAULT_CONFIG,
    index: DedupIndex | None = None,
    rejects_dir: str | None = None,
    spill: list[PipelineStep] = (),
) -> list[Stage]:
    """The four stages; ``replay`` must yield, for every rank, the documents ``source`` yielded, in order.
    Without ``replay`` (and ``spill``), the source's documents are spilled to ``work/stage1`` and read
    back, so any list of steps (a datatrove reader, filters) can stand in front of dedup."""
    if replay is None:
        if spill:
            raise ValueError("dedup_stages: a spill needs the replay that reads it back")
        from datatrove.pipeline.writers import JsonlWriter

        spill = [JsonlWriter(f"{work}/stage1", output_filename="${rank}.jsonl", compression=None)]
        replay = [ReplayReader(f"{work}/stage1")]
    prefixes = index.segment_prefixes() if index else []
    return [
        Stage("signature", [*source, DedupSignature(work, config), *spill], tasks),
        Stage("buckets", [DedupBuckets(work, tasks, config, prefixes)], config.bands + 1),
        Stage("cluster", [DedupCluster(work, tasks, config, prefixes)], 1),
        Stage("filter", [*replay, DedupFilter(work, config, rejects_dir=rejects_dir), *sink], tasks),
    ]


def run_stages(
    stages: list[Stage],
    work: str | Path,
    *,
    workers: int,
    executor: str = "local",
    on_stage: Callable[[str], Callable[[int, int], None] | None] | None = None,
    **options,
) -> list[RunResult]:
    """Run the stages in order; ``on_stage(name)`` may return a progress callback for that stage.

    On Slurm the stages are submitted as jobs chained with ``afterok`` and this returns ``[]`` at
    once: the books are in each stage's ``logs/stats`` once the jobs have run.
    """
    if executor == "slurm":
        submit_to_slurm(stages, work, workers=workers, **options)
        return []
    results = []
    for number, stage in enumerate(stages, start=1):
        progress = on_stage(stage.name) if on_stage else None
        out = Path(work) / f"{number}_{stage.name}"
        results.append(
            run_pipeline(
                stage.pipeline,
                out,
                tasks=stage.tasks,
                workers=max(1, min(workers, stage.tasks)),
                executor=executor,
                on_progress=progress,
                **options,
            )
        )
    return results


def submit_to_slurm(stages: list[Stage], work: str | Path, *, workers: int, **options) -> list[str]:
    """Submit each stage as a Slurm job array that starts after the previous one succeeded; job ids."""
    from jinglian.corpus.executors import build_executor, stderr_to

    executors, previous = [], None
    for number, stage in enumerate(stages, start=1):
        previous = build_executor(
            stage.pipeline, "slurm", stage.tasks, workers if workers < 0 else max(1, min(workers, stage.tasks)),
            Path(work) / f"{number}_{stage.name}" / "logs", job_name=f"jinglian-{stage.name}", depends=previous,
            **options,
        )
        executors.append(previous)
    with stderr_to(Path(work) / "slurm_submit.log"):  # datatrove logs every launch script it writes
        previous.run()  # it launches the dependencies first, each waiting for the one before
    return [str(e.job_id) for e in executors]


def update_index(index: DedupIndex, work: str | Path, tasks: int, config: DedupConfig) -> int | None:
    """Add what this run kept to the index (after the filter stage); None if already added."""
    shards, removed = [], []
    for rank in range(tasks):
        shards.append(SignatureSet(shard_prefix(work, rank), config.num_perm))
        with np.load(Path(work) / "remove" / f"{rank:05d}.npz") as f:
            removed.append(f["pos"])
    return index.add_batch(shards, removed)


@dataclass
class DedupRun:
    books: RunBooks
    summary: dict
    wall_seconds: float
    indexed: int | None  # documents added to the index (None: no index, or batch already there)


def run_dedup(
    files: list[str],
    out: Path,
    *,
    config: DedupConfig = DEFAULT_CONFIG,
    index_dir: Path | None = None,
    workers: int = 1,
    executor: str = "local",
    fmt: str = "jsonl",
    reader_options: dict | None = None,
    on_stage=None,
    slurm_options: dict | None = None,
) -> DedupRun | None:
    """``jinglian dedup``: one task per input file, so the input order decides survivors for any worker count."""
    from jinglian.corpus.readers import DocumentReader
    from jinglian.corpus.writers import document_writer

    opts = reader_options or {}
    index = DedupIndex.open(index_dir, config) if index_dir else None
    work = out / "dedup"
    rejects = str(out / "rejected")
    stages = dedup_stages(
        source=[DocumentReader(files, **opts)],
        replay=[DocumentReader(files, rejects_dir=rejects, **opts)],
        sink=[document_writer(out / "documents", fmt)],
        work=work,
        tasks=len(files),
        config=config,
        index=index,
        rejects_dir=rejects,
    )
    if executor == "slurm" and index:
        raise ExecutorUnavailable("--index needs the run to finish before the index grows: run it locally or on Ray")
    slurm = {"slurm_options": slurm_options} if executor == "slurm" else {}
    results = run_stages(stages, work, workers=workers, executor=executor, on_stage=on_stage, **slurm)
    if not results:  # submitted to Slurm: nothing to read yet
        return None
    indexed = update_index(index, work, len(files), config) if index else None
    summary = json.loads((work / "summary.json").read_text())
    return DedupRun(results[-1].books, summary, sum(r.wall_seconds for r in results), indexed)
