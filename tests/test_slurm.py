"""Slurm job scripts as a real cluster needs them (issue 24 item 5).

No Slurm here: a stand-in ``sbatch`` executable on PATH keeps each script it is given, and the test
reads the scripts jinglian (through datatrove) submitted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from slurm_stand_in import slurm_env


def submit(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    env, log = slurm_env(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "jinglian.cli", *args], env=env, capture_output=True, text=True)
    scripts = [p.read_text() for p in sorted(log.glob("*.sh"), key=lambda p: int(p.stem))]
    return proc, scripts


def test_slurm_scripts_carry_the_users_options_and_this_interpreter(tmp_path):
    from jinglian.corpus.sample import write_sample_jsonl

    docs = [write_sample_jsonl(tmp_path / f"part{i}.jsonl", n=5, seed=i) for i in range(4)]
    proc, scripts = submit(tmp_path, "curate", *map(str, docs), "--out", str(tmp_path / "out"), "--no-dedup",
                           "--executor", "slurm", "--workers", "2",
                           "--slurm-option", "partition=gpu-long", "--slurm-option", "time=2:00:00",
                           "--slurm-option", "account=nlp", "--slurm-option", "qos=high", "--slurm-option", "cpus-per-task=4")
    assert proc.returncode == 0, proc.stderr
    assert "submitted to Slurm: 4 tasks, 2 workers" in proc.stdout
    job, merge = scripts  # the pipeline's job array, then datatrove's merge_stats job
    for line in ("#SBATCH --partition=gpu-long", "#SBATCH --time=2:00:00", "#SBATCH --account=nlp", "#SBATCH --qos=high",
                 "#SBATCH --cpus-per-task=4", "#SBATCH --array=0-3%2"):
        assert line in job.splitlines()
    assert "--qos=normal" not in job and "--partition=cpu\n" not in job
    # the job starts with this interpreter's absolute path, not whatever `launch_pickled_pipeline` a node's PATH finds
    assert f"{sys.executable} -m datatrove.tools.launch_pickled_pipeline " in job
    assert f"{sys.executable} -m datatrove.tools.merge_stats " in merge


def test_slurm_without_options_leaves_the_cluster_defaults_and_no_concurrency_cap(tmp_path):
    from jinglian.corpus.sample import write_sample_jsonl

    docs = [write_sample_jsonl(tmp_path / f"part{i}.jsonl", n=5, seed=i) for i in range(3)]
    proc, scripts = submit(tmp_path, "filter", *map(str, docs), "--out", str(tmp_path / "out"), "--executor", "slurm")
    assert proc.returncode == 0, proc.stderr
    job = scripts[0].splitlines()
    assert "#SBATCH --array=0-2" in job  # tasks from the inputs; no %N from this machine's cores
    assert not [line for line in job if line.startswith(("#SBATCH --partition", "#SBATCH --time", "#SBATCH --qos"))]
    assert "no limit on tasks at once" in proc.stdout


def test_bad_slurm_option_and_zero_workers_are_one_line_errors(cli, sample_jsonl, tmp_path):
    proc = cli("curate", sample_jsonl, "--out", tmp_path / "a", "--executor", "slurm", "--slurm-option", "partition", check=False)
    assert proc.returncode == 2 and "--slurm-option 'partition': expected KEY=VALUE" in proc.stderr
    for command in ("curate", "filter", "dedup", "extract", "quality score", "decontaminate"):
        extra = ["--benchmarks", sample_jsonl] if command == "decontaminate" else []
        proc = cli(*command.split(), sample_jsonl, "--out", tmp_path / "b", "--workers", "0", *extra, check=False)
        assert proc.returncode == 2 and "--workers" in proc.stderr and "Traceback" not in proc.stderr, command
