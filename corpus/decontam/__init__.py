"""Benchmark decontamination: an index of evaluation items, matching, span cutting.

    benchmarks.py  read C-Eval / CMMLU / GAOKAO-Bench / generic item files into Items
    index.py       matching key, n-gram index (memory-mapped .npy files), the match rule
    step.py        the datatrove step (drop or cut), used by `decontaminate` and `curate`
    records.py     the same for SFT / multi-turn / preference records (`build ... --benchmarks`)
    report.py      per-benchmark summary of a run folder, and its HTML fragment for `jinglian report`

A run folder keeps the index under ``OUT/decontam/index/`` and every match under
``OUT/decontam/matches/``.
"""

from __future__ import annotations

from pathlib import Path

from jinglian.corpus.decontam.index import MatchConfig


def index_dir(out: Path) -> Path:
    return Path(out) / "decontam" / "index"


def matches_dir(out: Path) -> Path:
    return Path(out) / "decontam" / "matches"


def prepare_index(out: Path, benchmarks: list[str], fields: list[str] | None = None,
                  config: MatchConfig | None = None) -> dict:
    """Read the benchmarks and build (or reuse) the run's index; returns its meta."""
    from jinglian.corpus.decontam.benchmarks import read_benchmark
    from jinglian.corpus.decontam.index import ensure_index

    items = [item for spec in benchmarks for item in read_benchmark(spec, fields)]
    if not items:
        raise ValueError(f"no benchmark items in {', '.join(benchmarks)}")
    meta = ensure_index(items, index_dir(out), config or MatchConfig())
    if meta["items"] == 0:
        raise ValueError(f"no item of {', '.join(benchmarks)} is long enough to match "
                         f"({len(items)} read, all under {(config or MatchConfig()).n} characters after normalization)")
    return meta
