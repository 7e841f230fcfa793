"""Run a datatrove pipeline on an existing engine: local processes, Ray, or Slurm.

jinglian never schedules work itself. A pipeline is a plain list of steps; this module picks the
datatrove executor, points its logging folder (stats, completion markers, logs) at ``OUT/logs``,
and reads the books afterwards. Completion markers make a re-run with the same arguments skip the
tasks that finished, which is how a killed run resumes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from datatrove.executor.slurm import SlurmPipelineExecutor
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
        sbatch = dict(options.get("slurm_options") or {})
        return SlurmExecutor(
            pipeline,
            tasks=tasks,
            workers=workers,  # at most this many array tasks at once (%N); -1: as many as Slurm allows
            logging_dir=str(logging_dir),
            time=None,
            partition=None,
            qos=None,
            cpus_per_task=int(sbatch.get("cpus-per-task", 1)),
            job_name=options.get("job_name", "jinglian"),
            depends=options.get("depends"),  # a SlurmPipelineExecutor this one waits for (afterok)
            sbatch_args=sbatch,
        )
    raise ExecutorUnavailable(f"unknown executor {kind!r} (choose from {', '.join(EXECUTORS)})")


_SBATCH_KEY = re.compile(r"[a-z][a-z-]*")


def parse_slurm_options(pairs: list[str] | None) -> dict[str, str]:
    """``["partition=cpu", "time=4:00:00"]`` -> sbatch directives; one-line errors for bad pairs."""
    options: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip().removeprefix("--")
        if not sep or not _SBATCH_KEY.fullmatch(key) or not value.strip():
            raise ValueError(f"--slurm-option {pair!r}: expected KEY=VALUE with an sbatch option name, e.g. partition=cpu")
        if key in ("array", "output", "error", "job-name", "dependency"):
            raise ValueError(f"--slurm-option {key}: jinglian sets this one itself (tasks: --tasks, at once: --workers)")
        options[key] = value.strip()
    return options


class SlurmExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor with two changes for real clusters.

    * No site defaults baked in: datatrove writes ``--partition``, ``--time`` and ``--qos=normal``
      into every script; here only what the user gives (``--slurm-option``) is written, so the
      cluster's own defaults apply to the rest.
    * Jobs start with this interpreter's absolute path (``/path/venv/bin/python -m
      datatrove.tools.launch_pickled_pipeline``), not ``launch_pickled_pipeline`` looked up on the
      compute node's PATH, which finds nothing (or another install) when the venv is not activated.
    """

    def get_sbatch_args(self, max_array: int = 1) -> dict:
        args = super().get_sbatch_args(max_array)
        return {k: v for k, v in args.items() if v is not None}

    def get_launch_file_contents(self, sbatch_args: dict, run_script: str) -> str:
        python = shlex.quote(sys.executable)
        for tool in ("launch_pickled_pipeline", "merge_stats"):
            run_script = re.sub(rf"(^|\s){tool} ", rf"\g<1>{python} -m datatrove.tools.{tool} ", run_script)
        return super().get_launch_file_contents(sbatch_args, run_script)


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
