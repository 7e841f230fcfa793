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


def planted_preference_rate(model_dir: Path, prompts: list[str], seed: int = 0) -> float:
    """Share of sampled answers that say a good word and no bad one: the toy's known preference,
    measured on the model itself, apart from the reward model PPO was trained against."""
    import torch
    from transformers import AutoModelForCausalLM

    from jinglian.train.config import ModelSpec
    from jinglian.train.models import load_tokenizer
    from jinglian.train.toy import BAD, GOOD

    tok = load_tokenizer(ModelSpec(path=str(model_dir)))
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(**enc, do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=12,
                             pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    texts = tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return sum(any(g in t for g in GOOD) and not any(b in t for b in BAD) for t in texts) / len(texts)


def test_all_six_example_configs_run_as_written_in_order(workdir, monkeypatch):
    """pretrain → sft → rm → ppo / dpo / grpo with the shipped configs exactly as written, each from
    the previous stage's output, through the command's own run_stage (in this process: each
    `jinglian` subprocess would spend more time importing than training; 10 s in the default suite here)."""
    import torch
    from datasets import load_from_disk

    from jinglian.commands.train import run_stage

    monkeypatch.chdir(workdir)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for stage in ("pretrain", "sft", "rm", "ppo", "dpo", "grpo"):
            run_stage(stage, PIPELINES / f"train_{stage}.yaml", [])
            summary = json.loads((workdir / f"demo-out/train/{stage}/jinglian_summary.json").read_text())
            assert summary["stage"] == stage
        rm = json.loads((workdir / "demo-out/train/rm/jinglian_summary.json").read_text())
        assert rm["pairwise_accuracy"] >= 0.95
        # PPO on a known reward: SFT answers badly ~40% of the time (its demonstrations do); the RM and
        # the 好 rule reward both favour the good answers. Seeds 0-3 gave score +0.72..+1.24 and good
        # answers 0.50-0.59 (SFT) -> 0.92-0.99 (PPO), KL at the end <= 1.2 nats.
        ppo = json.loads((workdir / "demo-out/train/ppo/jinglian_summary.json").read_text())
        assert ppo["score_last"] > ppo["score_first"] + 0.5, (ppo["score_first"], ppo["score_last"])
        assert 0 < ppo["kl_last"] < 6
        prompts = list(load_from_disk(str(workdir / "demo-out/toy/prompts"))["test"]["prompt"]) * 2
        sft_rate = planted_preference_rate(workdir / "demo-out/train/sft", prompts)
        ppo_rate = planted_preference_rate(workdir / "demo-out/train/ppo", prompts)
        assert ppo_rate > sft_rate + 0.25, (sft_rate, ppo_rate)
    finally:
        torch.set_num_threads(threads)
    log = [json.loads(line) for line in (workdir / "demo-out/train/ppo/log.jsonl").read_text().splitlines()]
    assert len(log) == 20 and all(k in log[0] for k in ("score", "kl", "approxkl", "clipfrac", "eos_fraction"))
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
