"""Shared test set-up: CPU only, no hub access, and helpers every test module may use."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (third-party dev data); tests that use it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared dev data not found at {SHARED_DATA}")
    return SHARED_DATA


def run_cli(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real ``jinglian`` command in a subprocess, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "jinglian.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, "COLUMNS": "200"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"jinglian {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def read_jsonl_gz(folder: Path) -> list[dict]:
    """All records of every ``*.jsonl.gz`` under ``folder``, in file order."""
    rows = []
    for path in sorted(Path(folder).rglob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return rows


@pytest.fixture
def sample_jsonl(tmp_path: Path) -> Path:
    from jinglian.corpus.sample import write_sample_jsonl

    return write_sample_jsonl(tmp_path / "sample.jsonl", n=120, seed=1)


@pytest.fixture
def cli():
    """``cli("curate", "in.jsonl", "--out", dir)``: the real command in a subprocess."""
    return run_cli


@pytest.fixture
def read_docs():
    """``read_docs(folder)``: the records of every ``*.jsonl.gz`` under a folder."""
    return read_jsonl_gz
