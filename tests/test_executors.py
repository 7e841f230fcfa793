"""The same pipeline on datatrove's other executors: a real local Ray instance, and Slurm's check."""

import json
import shutil

import pytest


def test_ray_executor_runs_the_same_pipeline(cli, sample_jsonl, read_docs, tmp_path):
    pytest.importorskip("ray")
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    cli("curate", sample_jsonl, "--out", local, "--profile", "none", "--no-dedup")
    proc = cli("curate", sample_jsonl, sample_jsonl, "--out", ray_out, "--executor", "ray", "--workers", "2", "--profile", "none", "--no-dedup")
    assert "books balance" in proc.stdout
    assert (ray_out / "logs" / "completions" / "00001").exists()  # both tasks ran under Ray
    stats = json.loads((ray_out / "stats.json").read_text())
    assert stats["in"] == stats["kept"] == 240 and stats["balanced"]
    texts = sorted(d["text"] for d in read_docs(ray_out / "documents"))
    assert texts == sorted(2 * [d["text"] for d in read_docs(local / "documents")])


@pytest.mark.skipif(shutil.which("sbatch") is not None, reason="Slurm is installed here")
def test_slurm_without_sbatch_says_so(cli, sample_jsonl, tmp_path):
    proc = cli("curate", sample_jsonl, "--out", tmp_path / "out", "--executor", "slurm", "--no-dedup", check=False)
    assert proc.returncode == 2
    assert "needs Slurm's sbatch on PATH" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_executor(cli, sample_jsonl, tmp_path):
    proc = cli("curate", sample_jsonl, "--out", tmp_path / "out", "--executor", "spark", check=False)
    assert proc.returncode == 2 and "unknown executor 'spark'" in proc.stderr
