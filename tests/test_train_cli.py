"""``jinglian train`` as a user runs it: the example configs, overrides, one-line errors, ``train plan``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jinglian.train.toy import build_toy

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder holding demo-out/toy, where the example configs' relative paths resolve."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # tiny models on shared cores
    build_toy(tmp_path / "demo-out" / "toy")
    return tmp_path


def test_example_pretrain_config_runs_with_overrides(cli, workdir):
    proc = cli("train", "pretrain", "--config", PIPELINES / "train_pretrain.yaml", "max_steps=4",
               "model.config.hidden_size=32", "save_steps=2", "logging_steps=1", cwd=workdir)
    summary = json.loads((workdir / "demo-out/train/pretrain/jinglian_summary.json").read_text())
    assert summary["stage"] == "pretrain"
    assert len(summary["loss_curve"]) >= 1 and summary["eval_perplexity"] > 1
    assert (workdir / "demo-out/train/pretrain/checkpoint-2").is_dir()
    assert "eval_perplexity" in proc.stdout and "wall time" in proc.stdout


def test_unknown_key_and_nan_loss_are_one_line_errors(cli, workdir):
    proc = cli("train", "sft", "--config", PIPELINES / "train_sft.yaml", "lerning_rate=1e-3", cwd=workdir, check=False)
    assert proc.returncode == 2
    assert "unknown key 'args.lerning_rate' in SFTConfig (did you mean 'learning_rate'?)" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cli("train", "pretrain", "--config", PIPELINES / "train_pretrain.yaml", "max_steps=10",
               "learning_rate=1e30", "max_grad_norm=0", "warmup_steps=0", cwd=workdir, check=False)
    assert proc.returncode == 1
    assert "error: loss is nan at step" in proc.stderr and "Traceback" not in proc.stderr


def test_plan_prints_the_estimate_beside_the_seed_figure(cli):
    proc = cli("train", "plan", "--stage", "ppo", "--params", "7B", "--gpus", "8")
    assert "ZeRO-3 ×8" in proc.stdout and "240G" in proc.stdout and "252 GB" in proc.stdout
    assert "that is the 240G" in proc.stdout


def test_plan_calls_only_the_7b_figure_the_seed_notes_240g(cli):
    proc = cli("train", "plan", "--stage", "ppo", "--params", "1.5B")
    assert "that is the 240G" not in proc.stdout
    assert "at 7B the same count gives 252 GB" in proc.stdout


@pytest.mark.slow
def test_all_six_example_configs_run_as_written_in_order(cli, workdir):
    """pretrain → sft → rm → ppo / dpo / grpo, each from the previous stage's output (about 90 s)."""
    for stage in ("pretrain", "sft", "rm", "ppo", "dpo", "grpo"):
        cli("train", stage, "--config", PIPELINES / f"train_{stage}.yaml", cwd=workdir)
        summary = json.loads((workdir / f"demo-out/train/{stage}/jinglian_summary.json").read_text())
        assert summary["stage"] == stage
    rm = json.loads((workdir / "demo-out/train/rm/jinglian_summary.json").read_text())
    assert rm["pairwise_accuracy"] >= 0.95
    ppo = json.loads((workdir / "demo-out/train/ppo/jinglian_summary.json").read_text())
    assert ppo["score_last"] > ppo["score_first"] + 0.5  # SFT answers badly ~40% of the time; PPO fixes that
    assert os.path.isfile(workdir / "demo-out/train/ppo/checkpoint-20/trainer_state.pt")


def test_deepspeed_zero2_runs_in_one_process_without_a_launcher(cli, workdir, monkeypatch):
    """Plain `jinglian train ... deepspeed=zero2` (no torchrun/accelerate): a world of one, not MPI discovery."""
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    cli("train", "pretrain", "--config", PIPELINES / "train_pretrain.yaml", "max_steps=2",
        "model.config.hidden_size=32", cwd=workdir)
    proc = cli("train", "sft", "--config", PIPELINES / "train_sft.yaml", "deepspeed=zero2", "max_steps=2",
               "save_steps=0", cwd=workdir)
    summary = json.loads((workdir / "demo-out/train/sft/jinglian_summary.json").read_text())
    assert summary["stage"] == "sft" and summary["train_loss"] > 0
    assert "wall time" in proc.stdout
