"""Models and tokenizers: load a saved model, or build a Qwen2 / LLaMA one from a config with random init.

Nothing is downloaded: ``model.path`` is a local folder (``save_pretrained`` output, e.g. the previous
stage's ``output_dir``), and a from-scratch model takes its vocabulary and special tokens from a local
tokenizer folder (``jinglian tokenizer train`` output).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from jinglian.train.config import ModelSpec

log = logging.getLogger(__name__)

ARCHS = {"qwen2": "Qwen2Config", "llama": "LlamaConfig"}
# A from-scratch default small enough for a laptop; every key can be overridden under model.config.
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 512}


def load_tokenizer(spec: ModelSpec):
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    where = spec.tokenizer or spec.path
    if not where or not Path(where).exists():
        raise FileNotFoundError(f"tokenizer folder not found: {where}")
    if (Path(where) / "tokenizer.json").is_file():
        # Not AutoTokenizer: in transformers 5, a folder that also holds a Qwen2/LLaMA config.json gets
        # that model's tokenizer class, which rebuilds the pre-tokenizer and silently mangles a tokenizer
        # trained here (Chinese text came out as zero tokens). tokenizer.json is loaded exactly as saved.
        tok = PreTrainedTokenizerFast.from_pretrained(where)
    else:
        tok = AutoTokenizer.from_pretrained(where)
    if tok.eos_token is None:
        raise ValueError(f"the tokenizer in {where} has no eos_token; set one (e.g. <|im_end|>) and save it again")
    if tok.pad_token is None:
        log.warning("tokenizer has no pad token; using eos %r as pad", tok.eos_token)
        tok.pad_token = tok.eos_token
    return tok


def model_config(spec: ModelSpec, tokenizer):
    """The transformers config for a from-scratch model; unknown ``model.config`` keys are errors."""
    import transformers

    if spec.arch not in ARCHS:
        raise ValueError(f"model.arch {spec.arch!r} is not one of {', '.join(ARCHS)}")
    cls = getattr(transformers, ARCHS[spec.arch])
    known = set(cls().to_dict())
    for key in spec.config:
        if key not in known:
            raise ValueError(f"unknown key 'model.config.{key}' for {cls.__name__}")
    values = {**TINY, **spec.config}
    values.update(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                  eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id)
    return cls(**values)


def _dtype(name: str) -> Any:
    return "auto" if name == "auto" else getattr(torch, name)


def load_model(spec: ModelSpec, tokenizer, kind: str = "causal", path: str | None = None, seed: int = 0):
    """``kind="causal"`` → AutoModelForCausalLM; ``"score"`` → one-output sequence classifier (reward / critic).

    ``path`` overrides ``spec.path`` (PPO loads its reward model from a second folder). A causal LM
    checkpoint loads as a classifier too: the backbone is kept and a fresh ``score`` head is added.
    """
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    where = path or spec.path
    auto = AutoModelForCausalLM if kind == "causal" else AutoModelForSequenceClassification
    extra = {} if kind == "causal" else {"num_labels": 1}
    torch.manual_seed(seed)  # a fresh model, or a fresh score head on a loaded backbone, starts the same every run
    if where:
        if not Path(where).is_dir():
            raise FileNotFoundError(f"model folder not found: {where}")
        model = auto.from_pretrained(where, dtype=_dtype(spec.dtype), **extra)
    else:
        config = model_config(spec, tokenizer)
        if kind != "causal":
            config.num_labels = 1
        model = auto.from_config(config)
        if spec.dtype not in ("auto", "float32"):
            model = model.to(_dtype(spec.dtype))
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def lora_config(raw: dict | None, task_type: str = "CAUSAL_LM"):
    """peft ``LoraConfig`` from the ``lora:`` section (None when LoRA is off)."""
    if raw is None:
        return None
    from peft import LoraConfig

    values = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": "all-linear", **raw}
    values.setdefault("task_type", task_type)
    if task_type == "SEQ_CLS":
        values.setdefault("modules_to_save", ["score"])
    return LoraConfig(**values)


def count_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameters."""
    total = sum(p.numel() for p in model.parameters())
    return sum(p.numel() for p in model.parameters() if p.requires_grad), total
