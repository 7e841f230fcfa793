"""A curate run killed with SIGKILL mid-way and started again gives the uninterrupted output."""

import gzip
import subprocess
import sys
from pathlib import Path

from interrupt import kill_after_completions

from jinglian.corpus.sample import write_sample_jsonl

N_FILES = 12


def _curate_cmd(inputs: list[Path], out: Path) -> list[str]:
    return [sys.executable, "-m", "jinglian.cli", "curate", *map(str, inputs), "--out", str(out), "--workers", "1", "--no-dedup"]


def _outputs(out: Path) -> dict[str, bytes]:
    """Decompressed contents of every output file (gzip headers carry a timestamp)."""
    return {
        str(p.relative_to(out)): gzip.decompress(p.read_bytes())
        for p in sorted((out / "documents").glob("*.jsonl.gz"))
    }


def test_killed_run_resumes_to_identical_output(tmp_path):
    inputs = [write_sample_jsonl(tmp_path / f"in{i:02d}.jsonl", n=1500, seed=i) for i in range(N_FILES)]
    reference = tmp_path / "reference"
    subprocess.run(_curate_cmd(inputs, reference), check=True, capture_output=True)

    out = tmp_path / "killed"
    completions = out / "logs" / "completions"
    done_before = kill_after_completions(_curate_cmd(inputs, out), completions)
    assert 0 < done_before < N_FILES, f"kill landed outside the run ({done_before} of {N_FILES} tasks done)"

    resumed = subprocess.run(_curate_cmd(inputs, out), check=True, capture_output=True, text=True)
    assert "books balance" in resumed.stdout
    assert "Skipping" in (out / "logs" / "console.log").read_text()  # finished tasks were not redone
    assert _outputs(out) == _outputs(reference)
    assert (out / "stats.json").read_text() == (reference / "stats.json").read_text()
