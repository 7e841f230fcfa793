"""Pretraining: causal LM with transformers' ``Trainer`` on packed blocks, reporting held-out perplexity.

Reads the packed ``input_ids`` blocks that ``jinglian build pretrain`` writes (every row the same
length, documents separated by EOS), or a ``text`` column, which is tokenized and packed here into
``data.block_size`` tokens. The loss covers every real token; padding (only in a ragged last batch)
is labelled -100.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import transformers

from jinglian.train.common import FiniteLossMixin, train_and_save, write_summary
from jinglian.train.config import RunConfig
from jinglian.train.data import load_splits, require_columns
from jinglian.train.models import count_parameters, load_model, load_tokenizer


class PretrainTrainer(FiniteLossMixin, transformers.Trainer):
    """transformers' Trainer that stops on a NaN/inf loss."""


def pack_text(ds, tok, block_size: int):
    """Tokenize a ``text`` column, join documents with EOS and cut equal blocks (the remainder is dropped)."""

    def pack(batch):
        ids: list[int] = []
        for text in batch["text"]:
            ids += tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        n = len(ids) // block_size * block_size
        return {"input_ids": [ids[i:i + block_size] for i in range(0, n, block_size)]}

    return ds.map(pack, batched=True, batch_size=1000, remove_columns=ds.column_names)


class CausalCollator:
    """Pad to the longest row; labels = input_ids, -100 on padding."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r["input_ids"])] = torch.tensor(r["input_ids"])
            attn[i, :len(r["input_ids"])] = 1
        return {"input_ids": ids, "attention_mask": attn, "labels": ids.masked_fill(attn == 0, -100)}


def build_pretrain(cfg: RunConfig) -> PretrainTrainer:
    tok = load_tokenizer(cfg.model)
    train, evald = load_splits(cfg.data)
    require_columns(train, "pretrain", ("input_ids",), ("text",))
    if "input_ids" not in train.column_names:
        train = pack_text(train, tok, cfg.data.block_size)
        evald = pack_text(evald, tok, cfg.data.block_size) if evald is not None else None
    train = train.select_columns(["input_ids"])
    evald = evald.select_columns(["input_ids"]) if evald is not None else None
    model = load_model(cfg.model, tok, "causal", seed=cfg.args.seed)
    if cfg.lora is not None:
        from peft import get_peft_model

        from jinglian.train.models import lora_config

        model = get_peft_model(model, lora_config(cfg.lora))
    return PretrainTrainer(model=model, args=cfg.args, train_dataset=train, eval_dataset=evald,
                           data_collator=CausalCollator(tok.pad_token_id), processing_class=tok)


def run_pretrain(cfg: RunConfig) -> dict[str, Any]:
    trainer = build_pretrain(cfg)
    metrics = train_and_save(trainer, trainer.processing_class)
    metrics["trainable_params"], metrics["params"] = count_parameters(trainer.model)
    if "eval_loss" in metrics:
        metrics["eval_perplexity"] = math.exp(min(metrics["eval_loss"], 50.0))
    write_summary(cfg.args.output_dir, "pretrain", metrics)
    return metrics
