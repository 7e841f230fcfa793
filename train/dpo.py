"""Direct preference optimisation: TRL's ``DPOTrainer`` on ``prompt``/``chosen``/``rejected`` data.

The reference is a second copy of the starting model, or, with ``lora``, the same model with the
adapter disabled (no second copy in memory).
"""

from __future__ import annotations

from typing import Any

import trl

from jinglian.train.common import FiniteLossMixin, train_and_save, write_summary
from jinglian.train.config import RunConfig
from jinglian.train.data import load_splits, require_columns
from jinglian.train.lengths import LengthCheckMixin, length_check_options
from jinglian.train.models import load_model, load_tokenizer, lora_config


class DPOTrainer(LengthCheckMixin, FiniteLossMixin, trl.DPOTrainer):
    """TRL's DPOTrainer that stops on a NaN/inf loss and on samples longer than ``max_length`` (train/lengths.py)."""

    length_stage = "dpo"


def build_dpo(cfg: RunConfig) -> DPOTrainer:
    tok = load_tokenizer(cfg.model)
    train, evald = load_splits(cfg.data)
    require_columns(train, "dpo", ("prompt", "chosen", "rejected"), ("chosen", "rejected"))
    model = load_model(cfg.model, tok, "causal", seed=cfg.args.seed)
    peft = lora_config(cfg.lora)
    # TRL would rebuild the reference from the model's hub id, which a model built from config has not.
    ref = None if peft is not None else load_model(cfg.model, tok, "causal", seed=cfg.args.seed)
    return DPOTrainer(model=model, ref_model=ref, args=cfg.args, train_dataset=train, eval_dataset=evald,
                      processing_class=tok, peft_config=peft, **length_check_options(cfg.data))


def run_dpo(cfg: RunConfig) -> dict[str, Any]:
    trainer = build_dpo(cfg)
    metrics = train_and_save(trainer, trainer.processing_class)
    write_summary(cfg.args.output_dir, "dpo", metrics)
    return metrics
