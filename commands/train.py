"""``jinglian train STAGE --config FILE.yaml [key=value ...]`` and ``jinglian train plan``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jinglian.cli import console, fail, user_errors
from jinglian.runs import OVERWRITE_HELP

STAGE_HELP = {
    "pretrain": "Causal-LM pretraining on packed blocks (transformers Trainer); reports held-out perplexity.",
    "sft": "Supervised fine-tuning (TRL SFTTrainer): prompt/completion, messages, or input_ids/labels.",
    "rm": "Reward model (TRL RewardTrainer) on prompt/chosen/rejected; reports pairwise accuracy.",
    "ppo": "PPO with policy, reference, critic and reward model (jinglian's own trainer).",
    "dpo": "Direct preference optimisation (TRL DPOTrainer) on prompt/chosen/rejected.",
    "grpo": "GRPO (TRL GRPOTrainer) with rule-based reward functions and/or a trained reward model.",
}

EXAMPLE = """
Example:

    python -m jinglian.train.toy demo-out/toy
    jinglian train {stage} --config pipelines/train_{stage}.yaml max_steps=20 learning_rate=1e-3

The example configs chain pretrain → sft → rm → ppo | dpo | grpo, each starting from the previous
stage's output_dir. `resume_from_checkpoint=last` continues from the newest checkpoint-N.

Overrides are key=value with dotted paths (args.learning_rate=1e-4, model.config.hidden_size=128);
a key without a section belongs to `args` (the trainer's own config). Add `deepspeed=zero2` (or
zero3, zero3_offload, a JSON path) and launch with `accelerate launch -m jinglian.cli train ...` for
several GPUs.
"""


def _print_metrics(stage: str, metrics: dict, out: str, seconds: float) -> None:
    table = Table(title=f"jinglian train {stage}")
    table.add_column("metric", overflow="fold")
    table.add_column("value", justify="right", overflow="fold")
    for key, value in metrics.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:.4g}")
        elif isinstance(value, int):
            table.add_row(key, str(value))
    curve = metrics.get("loss_curve")
    if curve:
        table.add_row("loss first → last", f"{curve[0]:.4g} → {curve[-1]:.4g}")
    console.print(table)
    if "pairwise_accuracy" in metrics and "eval_accuracy" in metrics:
        console.print("eval_accuracy is TRL's: the mean of per-batch accuracies over the eval pairs TRL kept (pairs over "
                      "max_length dropped); pairwise_accuracy is jinglian's: the share of all eval pairs whose chosen text "
                      "scores above its rejected one", soft_wrap=True)
    console.print(f"model: {out}   summary: {Path(out) / 'jinglian_summary.json'}   wall time: {seconds:.1f} s")


def _ppo_line(row: dict) -> None:
    console.print(
        f"step {row['step']:>4}  score {row['score']:+.3f}  kl {row['kl']:.3f}  entropy {row['entropy']:.3f}  "
        f"clipfrac {row['clipfrac']:.3f}  value_err {row['value_error']:.3f}  len {row['response_length']:.1f}  "
        f"eos {row['eos_fraction']:.2f}", highlight=False)


def _quiet_library_warnings() -> None:
    """Warnings every run printed that ask nothing of the user: transformers 5 renaming
    ``gradient_checkpointing`` (TRL's configs set the old name themselves), and on machines without
    a GPU torch's pin_memory note and DeepSpeed's accelerator guess."""
    import os
    import warnings

    import torch

    if not torch.cuda.is_available():  # DeepSpeed's "Setting accelerator to CPU ..." on every CPU run
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    warnings.filterwarnings("ignore", message="`gradient_checkpointing` is deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", message="`gradient_checkpointing_kwargs` is deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", message="'pin_memory' argument is set as true but no accelerator is found")


def claim_output_dir(cfg, overwrite: bool = False) -> None:
    """The run contract (jinglian.runs) for a training run: output_dir records the config (file plus
    overrides, except resume_from_checkpoint and the run's length: max_steps, num_train_epochs) and the hashes of the data, model, tokenizer and reward
    models it reads. The same config again resumes from the newest checkpoint-N there, if any."""
    import copy

    from jinglian.runs import claim
    from jinglian.train.common import last_checkpoint

    raw = copy.deepcopy(cfg.raw)
    for key in ("resume_from_checkpoint", "max_steps", "num_train_epochs"):  # resuming to train longer is the same run
        (raw.get("args") or {}).pop(key, None)
    critic = getattr(cfg.args, "critic_path", None)
    inputs = [cfg.data.train, cfg.data.eval, cfg.model.path, cfg.model.tokenizer, critic,
              *(r["model"] for r in cfg.rewards if "model" in r)]
    out = cfg.args.output_dir
    resumed = claim(out, f"train {cfg.stage}", [i for i in dict.fromkeys(inputs) if i], {"config": raw}, overwrite,
                    flag="output_dir", say=console.print)
    newest = last_checkpoint(out) if resumed and not getattr(cfg.args, "resume_from_checkpoint", None) else None
    if newest:
        cfg.args.resume_from_checkpoint = newest  # train.common.resume_arg says so when training starts


def run_stage(stage: str, config: Path, overrides: list[str], overwrite: bool = False) -> dict:
    from jinglian.train.common import NonFiniteLoss
    from jinglian.train.config import load_config

    start = time.time()
    _quiet_library_warnings()
    with user_errors():
        cfg = load_config(config, stage, overrides)
        claim_output_dir(cfg, overwrite)
        try:
            if stage == "ppo":
                from jinglian.train.ppo import run_ppo

                metrics = run_ppo(cfg, on_log=_ppo_line)
                metrics = {k: v for k, v in metrics.items() if k != "history"}
            else:
                import importlib

                module = importlib.import_module(f"jinglian.train.{stage}")
                metrics = getattr(module, f"run_{stage}")(cfg)
        except NonFiniteLoss as err:
            fail(str(err), code=1)
    _print_metrics(stage, metrics, cfg.args.output_dir, time.time() - start)
    return metrics


def _make_stage_command(stage: str):
    def command(
        config: Annotated[Path, typer.Option("--config", "-c", help="Run config YAML (see pipelines/train_*.yaml).")],
        overrides: Annotated[list[str] | None, typer.Argument(help="key=value overrides.", show_default=False)] = None,
        overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP.replace("OUT", "output_dir"))] = False,
    ) -> None:
        run_stage(stage, config, overrides or [], overwrite)

    command.__name__ = stage
    command.__doc__ = STAGE_HELP[stage]
    return command


def plan(
    stage: Annotated[str, typer.Option(help="pretrain | sft | rm | dpo | grpo | ppo")] = "ppo",
    params: Annotated[str, typer.Option(help="Model size: 7B, 1.5B, 500M, or a number.")] = "7B",
    seq: Annotated[int, typer.Option(help="Tokens per sequence.")] = 2048,
    batch: Annotated[int, typer.Option(help="Sequences per GPU per micro-batch.")] = 1,
    gpus: Annotated[int, typer.Option(help="GPUs that ZeRO shards over.")] = 8,
    layers: Annotated[int, typer.Option(help="Transformer layers (0: guess from the size).")] = 0,
    hidden: Annotated[int, typer.Option(help="Hidden size (0: guess from the size).")] = 0,
    checkpointing: Annotated[bool, typer.Option("--checkpointing/--no-checkpointing",
                                                help="Gradient checkpointing.")] = True,
) -> None:
    """Estimate GPU memory per GPU for a stage: full and LoRA training under ZeRO 0/2/3/3-offload.

    Example:

        jinglian train plan --stage ppo --params 7B --seq 1024 --gpus 1
    """
    from jinglian.train.memory import parse_params, plan_table, seed_note

    with user_errors():
        n = parse_params(params)
        rows = plan_table(stage, n, seq=seq, batch=batch, gpus=gpus, layers=layers or None,
                          hidden=hidden or None, checkpointing=checkpointing)
    table = Table(title=f"jinglian train plan: {stage}, {n / 1e9:.2f}B params, seq {seq}, batch {batch}, {gpus} GPU(s)")
    for col in ("training", "ZeRO", "weights", "grads", "optimizer", "frozen models", "activations", "total / GPU"):
        table.add_column(col, justify="right" if col not in ("training", "ZeRO") else "left")
    for r in rows:
        table.add_row(r["mode"], r["zero"], *(f"{r[k]:.1f} GB" for k in ("weights", "grads", "optimizer", "frozen",
                                                                       "activations", "total")))
    console.print(table)
    if stage == "ppo":
        console.print(seed_note(n), highlight=False)


def register(app: typer.Typer) -> None:
    train_app = typer.Typer(help="Train: pretrain | sft | rm | ppo | dpo | grpo, and plan (memory estimate).",
                            no_args_is_help=True, rich_markup_mode="rich")
    for stage in STAGE_HELP:
        cmd = _make_stage_command(stage)
        train_app.command(name=stage, help=STAGE_HELP[stage] + "\n\n" + EXAMPLE.format(stage=stage))(cmd)
    train_app.command(name="plan")(plan)
    app.add_typer(train_app, name="train")
