"""Group relative policy optimisation: TRL's ``GRPOTrainer`` with rule functions and/or reward models.

``rewards:`` lists the reward sources; each is a function ``module:name`` (TRL's reward-function
signature, see ``jinglian.train.rewards``) or a trained reward model folder (``jinglian train rm``
output), with an optional ``weight``. GRPO needs no critic: the advantage of a completion is its
reward relative to the other ``num_generations`` completions of the same prompt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trl

from jinglian.train.common import FiniteLossMixin, train_and_save, write_summary
from jinglian.train.config import RunConfig
from jinglian.train.data import load_splits, require_columns
from jinglian.train.models import load_model, load_tokenizer, lora_config
from jinglian.train.rewards import load_function


class GRPOTrainer(FiniteLossMixin, trl.GRPOTrainer):
    """TRL's GRPOTrainer that stops on a NaN/inf loss."""


def reward_sources(cfg: RunConfig, tok) -> tuple[list, list, list[float]]:
    """(reward_funcs, reward_processing_classes, weights) for TRL from the ``rewards:`` section."""
    if not cfg.rewards:
        raise ValueError("grpo needs at least one entry under 'rewards:' (a function module:name or a model folder)")
    funcs, classes, weights = [], [], []
    for r in cfg.rewards:
        if "function" in r:
            funcs.append(load_function(r["function"], r.get("kwargs")))
            classes.append(None)
        else:
            model = load_model(cfg.model, tok, "score", path=r["model"]).eval()
            funcs.append(model)
            classes.append(tok)
        weights.append(float(r.get("weight", 1.0)))
    return funcs, classes, weights


def build_grpo(cfg: RunConfig) -> GRPOTrainer:
    tok = load_tokenizer(cfg.model)
    train, evald = load_splits(cfg.data)
    require_columns(train, "grpo", ("prompt",))
    funcs, classes, weights = reward_sources(cfg, tok)
    if cfg.args.reward_weights is None:
        cfg.args.reward_weights = weights
    peft = lora_config(cfg.lora)
    model: Any = load_model(cfg.model, tok, "causal", seed=cfg.args.seed)
    if cfg.model.path is None and cfg.args.beta != 0.0 and peft is None:
        # With beta > 0 TRL loads the reference from the model's path; a model built from config has
        # none, so write the initial weights once and hand TRL the folder.
        init = Path(cfg.args.output_dir) / "initial_model"
        model.save_pretrained(init)
        tok.save_pretrained(init)
        model = str(init)
    return GRPOTrainer(model=model, reward_funcs=funcs, args=cfg.args, train_dataset=train, eval_dataset=evald,
                       processing_class=tok, reward_processing_classes=classes, peft_config=peft)


def run_grpo(cfg: RunConfig) -> dict[str, Any]:
    trainer = build_grpo(cfg)
    metrics = train_and_save(trainer, trainer.processing_class)
    history = [r for r in trainer.state.log_history if "reward" in r]
    if history:
        metrics["reward_first"], metrics["reward_last"] = history[0]["reward"], history[-1]["reward"]
    write_summary(cfg.args.output_dir, "grpo", metrics)
    return metrics
