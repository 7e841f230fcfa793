"""Run a datatrove pipeline on an existing engine: local processes, Ray, or Slurm.

jinglian never schedules work itself. A pipeline is a plain list of steps; this module picks the
datatrove executor, points its logging folder (stats, completion markers, logs) at ``OUT/logs``,
and reads the books afterwards. Completion markers make a re-run with the same arguments skip the
tasks that finished, which is how a killed run resumes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from datatrove.pipeline.base import PipelineStep

from jinglian.corpus.stats import RunBooks, read_books

EXECUTORS = ("local", "ray", "slurm")


class ExecutorUnavailable(Exception):
    """The chosen executor cannot run here (e.g. no ``sbatch`` for Slurm)."""


@dataclass
class RunResult:
    books: RunBooks
    wall_seconds: float
    logging_dir: Path


def build_executor(pipeline: list[PipelineStep], kind: str, tasks: int, workers: int, logging_dir: Path, **options):
    if kind == "local":
        from datatrove.executor import LocalPipelineExecutor

        # "fork": workers inherit this process's imports, so they start in milliseconds.
        return LocalPipelineExecutor(
            pipeline, tasks=tasks, workers=workers, logging_dir=str(logging_dir), start_method="fork"
        )
    if kind == "ray":
        try:
            import ray
        except ImportError:
            raise ExecutorUnavailable("--executor ray needs Ray: pip install 'jinglian[dev]' or 'ray[default]'") from None
        from datatrove.executor import RayPipelineExecutor

        if not ray.is_initialized():
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        return RayPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=str(logging_dir))
    if kind == "slurm":
        if shutil.which("sbatch") is None:
            raise ExecutorUnavailable(
                "--executor slurm needs Slurm's sbatch on PATH, and it is not here: run on a Slurm login node"
            )
        from datatrove.executor import SlurmPipelineExecutor

        return SlurmPipelineExecutor(
            pipeline,
            tasks=tasks,
            workers=workers,
            logging_dir=str(logging_dir),
            time=options.get("slurm_time", "24:00:00"),
            partition=options.get("slurm_partition", "cpu"),
            job_name=options.get("job_name", "jinglian"),
            depends=options.get("depends"),  # a SlurmPipelineExecutor this one waits for (afterok)
        )
    raise ExecutorUnavailable(f"unknown executor {kind!r} (choose from {', '.join(EXECUTORS)})")


@contextlib.contextmanager
def stderr_to(path: Path):
    """Send file descriptor 2 (ours and our workers') to a log file: datatrove logs every task there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def run_pipeline(
    pipeline: list[PipelineStep],
    out: Path,
    tasks: int,
    workers: int,
    executor: str = "local",
    on_progress: Callable[[int, int], None] | None = None,
    **options,
) -> RunResult:
    """Run ``pipeline`` as ``tasks`` tasks; ``on_progress(done, total)`` is called as tasks finish."""
    logging_dir = out / "logs"
    started = time.perf_counter()
    stop = threading.Event()

    def watch():
        while not stop.wait(0.2):
            on_progress(len(list((logging_dir / "completions").glob("*"))), tasks)

    watcher = threading.Thread(target=watch, daemon=True) if on_progress else None
    with stderr_to(logging_dir / "console.log"):
        runner = build_executor(pipeline, executor, tasks, workers, logging_dir, **options)
        if watcher:
            watcher.start()
        try:
            runner.run()
        finally:
            stop.set()
            if watcher:
                watcher.join()
    if on_progress:
        on_progress(len(list((logging_dir / "completions").glob("*"))), tasks)
    return RunResult(read_books(logging_dir), time.perf_counter() - started, logging_dir)
