"""Reward model: TRL's ``RewardTrainer`` (a one-output sequence classifier, Bradley–Terry loss).

Reads ``prompt``/``chosen``/``rejected`` (or ``chosen``/``rejected`` alone, strings or messages).
After training it scores the validation pairs itself and reports the pairwise accuracy: the share of
pairs where the chosen answer gets the higher reward.
"""

from __future__ import annotations

from typing import Any

import torch
import trl

from jinglian.train.common import FiniteLossMixin, train_and_save, write_summary
from jinglian.train.config import RunConfig
from jinglian.train.data import load_splits, require_columns
from jinglian.train.lengths import LengthCheckMixin, length_check_options
from jinglian.train.models import load_model, load_tokenizer, lora_config


class RewardTrainer(LengthCheckMixin, FiniteLossMixin, trl.RewardTrainer):
    """TRL's RewardTrainer that stops on a NaN/inf loss and on samples longer than ``max_length`` (train/lengths.py)."""

    length_stage = "rm"


def _text(tokenizer, prompt, answer) -> str:
    """The text TRL's RewardTrainer scores: prompt + answer (+ EOS), or the chat template for messages."""
    if isinstance(answer, list):
        return tokenizer.apply_chat_template((prompt or []) + answer, tokenize=False)
    text = (prompt or "") + answer
    return text if text.endswith(tokenizer.eos_token) else text + tokenizer.eos_token


@torch.no_grad()
def score_texts(model, tokenizer, texts: list[str], batch_size: int = 32, max_length: int = 1024,
                chat_template: bool = False) -> torch.Tensor:
    """The reward model's scalar for each text (pooled at the last non-pad token). BOS follows the
    rule of every stage (:func:`jinglian.formats.tokenizer.bos_prefix`): chat-template text as
    rendered, plain text with the tokenizer's own BOS, as TRL's RewardTrainer tokenized it."""
    from jinglian.formats.tokenizer import bos_prefix

    model.eval()
    dev = next(model.parameters()).device
    out = []
    for i in range(0, len(texts), batch_size):
        chunk = texts[i:i + batch_size]
        seqs = [(bos_prefix(tokenizer, t, chat_template) + tokenizer(t, add_special_tokens=False)["input_ids"])[:max_length]
                for t in chunk]
        width = max(len(s) for s in seqs)
        ids = torch.tensor([s + [tokenizer.pad_token_id] * (width - len(s)) for s in seqs], device=dev)
        attn = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=dev)
        out.append(model(input_ids=ids, attention_mask=attn).logits[:, 0].float().cpu())
    return torch.cat(out)


def pairwise_accuracy(model, tokenizer, dataset) -> float:
    """Share of (chosen, rejected) pairs where chosen scores higher."""
    prompts = dataset["prompt"] if "prompt" in dataset.column_names else [None] * len(dataset)
    chat = isinstance(dataset["chosen"][0], list)
    chosen = score_texts(model, tokenizer, [_text(tokenizer, p, c) for p, c in zip(prompts, dataset["chosen"], strict=True)],
                         chat_template=chat)
    rejected = score_texts(model, tokenizer, [_text(tokenizer, p, r) for p, r in zip(prompts, dataset["rejected"], strict=True)],
                           chat_template=chat)
    return (chosen > rejected).float().mean().item()


def build_rm(cfg: RunConfig) -> RewardTrainer:
    tok = load_tokenizer(cfg.model)
    train, evald = load_splits(cfg.data)
    require_columns(train, "rm", ("chosen", "rejected"))
    model = load_model(cfg.model, tok, "score", seed=cfg.args.seed)
    trainer = RewardTrainer(model=model, args=cfg.args, train_dataset=train, eval_dataset=evald,
                            processing_class=tok, peft_config=lora_config(cfg.lora, "SEQ_CLS"),
                            **length_check_options(cfg.data))
    # the pairs as written: TRL's preparation rewrites `chosen`/`rejected` of its own copy to prompt+answer+EOS
    trainer.eval_pairs = evald
    return trainer


def run_rm(cfg: RunConfig) -> dict[str, Any]:
    trainer = build_rm(cfg)
    metrics = train_and_save(trainer, trainer.processing_class)
    if trainer.eval_pairs is not None:
        metrics["pairwise_accuracy"] = pairwise_accuracy(trainer.model, trainer.processing_class, trainer.eval_pairs)
    write_summary(cfg.args.output_dir, "rm", metrics)
    return metrics
