"""Supervised fine-tuning: TRL's ``SFTTrainer`` on the builders' datasets.

Reads ``prompt``/``completion`` (loss on the completion only, TRL's default), ``messages``
(``assistant_only_loss: true`` for loss on assistant turns, with a ``{% generation %}`` chat template),
``text``, or pre-tokenized ``input_ids``/``labels`` (-100 where no loss is taken; used as they are).
``packing: true`` packs samples best-fit-decreasing into ``max_length`` rows without padding;
TRL passes ``position_ids`` that restart at every sample, and transformers turns them into a
block-diagonal mask (SDPA/eager) or varlen FlashAttention, so packed samples never attend to each other.
"""

from __future__ import annotations

from typing import Any

import trl

from jinglian.train.common import FiniteLossMixin, train_and_save, write_summary
from jinglian.train.config import RunConfig
from jinglian.train.data import load_splits, require_columns
from jinglian.train.lengths import LengthCheckMixin, length_check_options
from jinglian.train.models import load_model, load_tokenizer, lora_config

SFT_COLUMNS = (("prompt", "completion"), ("messages",), ("conversations",), ("input_ids",), ("text",))


class SFTTrainer(LengthCheckMixin, FiniteLossMixin, trl.SFTTrainer):
    """TRL's SFTTrainer that stops on a NaN/inf loss and on samples longer than ``max_length`` (train/lengths.py)."""

    length_stage = "sft"


def build_sft(cfg: RunConfig) -> SFTTrainer:
    tok = load_tokenizer(cfg.model)
    train, evald = load_splits(cfg.data)
    require_columns(train, "sft", *SFT_COLUMNS)
    model = load_model(cfg.model, tok, "causal", seed=cfg.args.seed)
    return SFTTrainer(model=model, args=cfg.args, train_dataset=train, eval_dataset=evald,
                      processing_class=tok, peft_config=lora_config(cfg.lora),
                      **length_check_options(cfg.data))


def run_sft(cfg: RunConfig) -> dict[str, Any]:
    trainer = build_sft(cfg)
    metrics = train_and_save(trainer, trainer.processing_class)
    write_summary(cfg.args.output_dir, "sft", metrics)
    return metrics
