"""The same pipeline on datatrove's other executors: a real local Ray instance, and Slurm's check."""

import json
import shutil

import pytest
from slurm_stand_in import slurm_env


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




def test_slurm_runs_curate_with_dedup_as_chained_jobs(cli, sample_jsonl, read_docs, tmp_path):
    """Submission goes through stand-ins for sbatch and scontrol (no Slurm here); then the test plays
    the cluster: it runs every array task of every stage, in order, with datatrove's own
    launch_pickled_pipeline, as Slurm would, and gets the local run's documents."""
    import subprocess
    import sys
    from pathlib import Path

    env, log = slurm_env(tmp_path)
    out = tmp_path / "slurm"
    proc = subprocess.run([sys.executable, "-m", "jinglian.cli", "curate", str(sample_jsonl), "--out", str(out),
                           "--executor", "slurm"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "submitted to Slurm as chained jobs" in proc.stdout

    jobs = []  # (job id, stage folder, array size, dependency) of the pipeline jobs, in submission order
    for script in sorted(log.glob("*.sh"), key=lambda p: int(p.stem)):
        text = script.read_text()
        if "launch_pickled_pipeline" not in text:
            continue  # datatrove's merge_stats job after each stage
        pik = text.split("launch_pickled_pipeline ")[1].split()[0]
        array = int(text.split("#SBATCH --array=0-")[1].split()[0].split("%")[0]) + 1
        args = (log / f"{script.stem}.args").read_text()
        dependency = args.split("--dependency=")[1].split()[0] if "--dependency=" in args else None
        jobs.append((str(1000 + int(script.stem)), Path(pik).parent.parent.name, array, dependency, pik))
    assert [j[1] for j in jobs] == ["1_signature", "2_buckets", "3_cluster", "4_filter"]
    for before, after in zip(jobs, jobs[1:], strict=False):
        assert after[3] == f"afterok:{before[0]}"  # each stage waits for the previous one

    launcher = str(Path(sys.executable).parent / "launch_pickled_pipeline")
    for _, _, array, _, pik in jobs:
        for task in range(array):
            subprocess.run([launcher, pik], env={**env, "SLURM_ARRAY_TASK_ID": str(task), "RUN_OFFSET": "0", "SLURM_NODELIST": "localhost"},
                           check=True, capture_output=True)
    cli("curate", sample_jsonl, "--out", tmp_path / "local", "--workers", "1")
    on_slurm = sorted((d["id"], d["text"]) for d in read_docs(out / "documents"))
    assert on_slurm == sorted((d["id"], d["text"]) for d in read_docs(tmp_path / "local" / "documents"))
    assert on_slurm  # something survived
