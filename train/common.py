"""What every stage shares: stop on a NaN/inf loss, resume, save the final model, report."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or inf: the run stops instead of writing garbage checkpoints."""


def loss_error(loss: float, step: int) -> NonFiniteLoss:
    return NonFiniteLoss(
        f"loss is {loss} at step {step}: training stopped. Lower the learning rate, keep max_grad_norm on, "
        "use bf16 rather than fp16, or look for empty/garbled rows in the data; resume from the last checkpoint."
    )


class FiniteLossMixin:
    """Put in front of a transformers/TRL trainer class: checks each micro-batch loss and stops on NaN/inf.

    ``logging_nan_inf_filter`` (on by default in transformers) would otherwise hide a NaN loss from the logs
    while the weights are already ruined.
    """

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        value = loss.detach().float().item()
        if not math.isfinite(value):
            raise loss_error(value, self.state.global_step + 1)
        return loss


def last_checkpoint(output_dir: str) -> str | None:
    """The newest ``checkpoint-N`` folder in ``output_dir`` (None when there is none)."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(output_dir) if Path(output_dir).is_dir() else None


def resume_arg(args) -> str | bool | None:
    """``args.resume_from_checkpoint``: a path, ``true``/``last`` (newest checkpoint in output_dir), or
    unset. A checkpoint found is said once, here, before the first step (every trainer, PPO too)."""
    value = getattr(args, "resume_from_checkpoint", None)
    if value in (None, False, "", "false", "False"):
        return None
    if value in (True, "true", "True", "last"):
        value = last_checkpoint(args.output_dir)
        if value is None:
            raise ValueError(f"resume_from_checkpoint: no checkpoint-N folder in {args.output_dir}")
    elif not Path(value).is_dir():
        raise FileNotFoundError(f"resume_from_checkpoint: {value} is not a folder")
    print(f"resuming from {value}", flush=True)
    return value


def train_and_save(trainer, tokenizer=None) -> dict[str, Any]:
    """Run ``trainer.train`` (resuming if asked), save model + tokenizer to ``output_dir``, evaluate."""
    resume = resume_arg(trainer.args)
    result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(trainer.args.output_dir)
    if tokenizer is not None and trainer.is_world_process_zero():
        tokenizer.save_pretrained(trainer.args.output_dir)
    metrics: dict[str, Any] = {k: v for k, v in result.metrics.items() if isinstance(v, int | float)}
    metrics["train_loss"] = result.training_loss
    metrics["loss_curve"] = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    if trainer.eval_dataset is not None:
        metrics.update(trainer.evaluate())
    verb = "dropped" if getattr(trainer, "length_stage", "") == "rm" else "cut"  # data.allow_truncation: said in the summary
    metrics.update({f"samples_{verb}_over_max_length_{split}": n for split, n in getattr(trainer, "length_counts", {}).items() if n})
    return metrics


def write_summary(output_dir: str, stage: str, metrics: dict[str, Any]) -> Path:
    path = Path(output_dir) / "jinglian_summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"stage": stage, **metrics}, ensure_ascii=False, indent=2, default=str))
    tmp.replace(path)
    return path


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
