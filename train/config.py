"""One YAML file per run → the stage's config objects.

A run file has a few sections; ``args`` is the trainer's own config class, so a TRL user recognises
every key there (``SFTConfig`` for sft, ``RewardConfig`` for rm, ``DPOConfig``, ``GRPOConfig``,
``transformers.TrainingArguments`` for pretrain, jinglian's ``PPOConfig`` for ppo)::

    model:                       # what to train
      path: out/sft              # a saved model folder ...
      tokenizer: out/tokenizer   # ... or a tokenizer folder plus an architecture to build from scratch
      arch: qwen2                # qwen2 | llama
      config: {hidden_size: 64, num_hidden_layers: 2}
    data: {train: out/sft, eval: null, eval_fraction: 0.1, allow_truncation: false}
    lora: {r: 16, lora_alpha: 32, target_modules: all-linear}    # optional (peft LoraConfig keys)
    deepspeed: zero2             # zero2 | zero3 | zero3_offload | path/to/ds.json   (optional)
    rewards:                     # grpo and ppo: rule functions and/or a trained reward model
      - {function: jinglian.train.rewards:char_share, kwargs: {char: 好}}
      - {model: out/rm}
    args: {output_dir: out/sft-run, max_steps: 100, learning_rate: 1.0e-4}

Overrides ``key=value`` (values parsed as YAML) address any key by its dotted path
(``args.learning_rate=3e-4``, ``model.config.hidden_size=128``); a key without a section goes to
``args`` (``max_steps=10``). Every unknown key is an error that names it.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STAGES = ("pretrain", "sft", "rm", "ppo", "dpo", "grpo")
SECTIONS = {"stage", "model", "data", "lora", "deepspeed", "rewards", "args"}
MODEL_KEYS = {"path", "tokenizer", "arch", "config", "dtype"}
DATA_KEYS = {"train", "eval", "split", "eval_split", "eval_fraction", "seed", "block_size", "allow_truncation"}
REWARD_KEYS = {"function", "kwargs", "model", "weight"}
DEEPSPEED_DIR = Path(__file__).parent / "deepspeed"


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``1e-4`` as a string; read it as a float, as every user expects."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)$"),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


@dataclass
class ModelSpec:
    path: str | None = None
    tokenizer: str | None = None
    arch: str = "qwen2"
    config: dict[str, Any] = field(default_factory=dict)
    dtype: str = "auto"


@dataclass
class DataSpec:
    train: str = ""
    eval: str | None = None
    split: str = "train"
    eval_split: str | None = None  # default: "test" or "validation" when the dataset has one
    eval_fraction: float = 0.0  # carve an eval set out of train when there is none
    seed: int = 0
    block_size: int = 1024  # pretrain on a `text` column: tokens per packed block
    # sft/rm/dpo: samples longer than args.max_length are an error (train/lengths.py); true: a warning
    allow_truncation: bool = False


@dataclass
class RunConfig:
    stage: str
    model: ModelSpec
    data: DataSpec
    args: Any  # the stage's config object (SFTConfig, RewardConfig, ..., PPOConfig)
    lora: dict[str, Any] | None = None
    rewards: list[dict[str, Any]] = field(default_factory=list)
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the config as written plus overrides (the run record)


def args_class(stage: str) -> type:
    if stage == "pretrain":
        from transformers import TrainingArguments

        return TrainingArguments
    if stage == "sft":
        from trl import SFTConfig

        return SFTConfig
    if stage == "rm":
        from trl import RewardConfig

        return RewardConfig
    if stage == "dpo":
        from trl import DPOConfig

        return DPOConfig
    if stage == "grpo":
        from trl import GRPOConfig

        return GRPOConfig
    if stage == "ppo":
        from jinglian.train.ppo_config import PPOConfig

        return PPOConfig
    raise ValueError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")


def _unknown(key: str, where: str, known: set[str]) -> ValueError:
    close = difflib.get_close_matches(key.split(".")[-1], sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ValueError(f"unknown key {key!r} in {where}{hint}")


_SIMPLE = {int: "a whole number", float: "a number", str: "a string", bool: "true or false", type(None): "null"}


def _simple_types(hint: Any) -> tuple[type, ...] | None:
    """The plain types a field annotation allows, or None when it names anything else (left to the class)."""
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    return tuple(args) if all(a in _SIMPLE for a in args) else None


def check_types(values: dict, cls: type, prefix: str) -> dict:
    """Values of a config section against the dataclass's annotations (``learning_rate=abc`` is an
    error naming the key, not a TypeError deep in training); a whole float for an int is taken."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: use what the fields say
        hints = {f.name: f.type for f in dataclasses.fields(cls)}
    out = dict(values)
    for key, value in values.items():
        allowed = _simple_types(hints.get(key))
        if allowed is None or key == "resume_from_checkpoint":  # also true/last (train.common.resume_arg)
            continue
        if isinstance(value, float) and int in allowed and float not in allowed and value.is_integer():
            out[key] = value = int(value)
        ok = (isinstance(value, bool) and bool in allowed) or (
            not isinstance(value, bool)
            and (type(value) in allowed or (isinstance(value, int) and float in allowed)))
        if not ok:
            wanted = " or ".join(dict.fromkeys(_SIMPLE[a] for a in allowed))
            raise ValueError(f"{prefix}{key}: expected {wanted}, got {value!r}")
    return out


def _check(section: dict, known: set[str], prefix: str, where: str) -> None:
    if not isinstance(section, dict):
        raise ValueError(f"{prefix.rstrip('.')} must be a mapping, got {type(section).__name__}")
    for key in section:
        if key not in known:
            raise _unknown(f"{prefix}{key}", where, known)


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """``a.b=value`` sets ``raw["a"]["b"]``; a first component that is not a section means ``args.``."""
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not key=value")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        if parts[0] not in SECTIONS:
            if len(parts) > 1:  # a dotted key must start with a section name
                raise _unknown(parts[0], "the run config", SECTIONS)
            parts = ["args", *parts]
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {key!r}: {part!r} is not a mapping")
        node[parts[-1]] = parse_yaml(value) if value != "" else None
    return raw


def deepspeed_path(name: str) -> str:
    """``zero2`` | ``zero3`` | ``zero3_offload`` → the bundled JSON; anything else must be a file."""
    bundled = DEEPSPEED_DIR / f"{name}.json"
    if bundled.is_file():
        return str(bundled)
    if Path(name).is_file():
        return str(Path(name))
    raise ValueError(f"deepspeed: {name!r} is neither zero2, zero3, zero3_offload nor a JSON file")


def single_process_distributed_env() -> None:
    """Outside a launcher (plain `jinglian train`, or `accelerate launch --num_processes 1`) no
    RANK/WORLD_SIZE is set and DeepSpeed falls back to MPI discovery, which fails without mpi4py.
    One process is a world of one: say so, as torchrun would. Launchers that set them win."""
    import os
    import socket

    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        return
    with socket.socket() as sock:  # a free port for the (one-member) process group
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_WORLD_SIZE", "1"),
                       ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(port))):
        os.environ.setdefault(key, value)


def build_args(stage: str, values: dict, *, deepspeed: str | None = None) -> Any:
    cls = args_class(stage)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    _check(values, known, "args.", cls.__name__)
    values = check_types(values, cls, "args.")
    values.setdefault("output_dir", f"out/{stage}")
    if deepspeed:
        if stage == "ppo":
            raise ValueError("deepspeed: jinglian's PPO runs in one process on one GPU; use lora (four roles on "
                             "two bases, see `jinglian train plan --stage ppo`) or GRPO/DPO under DeepSpeed")
        values["deepspeed"] = deepspeed_path(deepspeed)
        single_process_distributed_env()
    if "bf16" in known and "bf16" not in values and "fp16" not in values:
        # TRL defaults to bf16=True; on a machine without CUDA that means slow CPU autocast and numbers
        # that differ from fp32, so jinglian turns it on only where a GPU is present.
        import torch

        values["bf16"] = torch.cuda.is_available()
    return cls(**values)


def load_config(path: Path | str | None, stage: str, overrides: list[str] | None = None,
                raw: dict | None = None) -> RunConfig:
    """Read ``path`` (or use ``raw``), apply ``overrides``, validate every key, build the config objects."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")
    if raw is None:
        if path is None:
            raise ValueError("--config is required")
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        raw = parse_yaml(path.read_text(encoding="utf-8")) or {}
    raw = apply_overrides(dict(raw), list(overrides or []))
    _check(raw, SECTIONS, "", "the run config")
    if raw.get("stage") not in (None, stage):
        raise ValueError(f"the config is for stage {raw['stage']!r}, not {stage!r}")
    model_raw = raw.get("model") or {}
    _check(model_raw, MODEL_KEYS, "model.", "model")
    data_raw = raw.get("data") or {}
    if isinstance(data_raw, str):
        data_raw = {"train": data_raw}
    _check(data_raw, DATA_KEYS, "data.", "data")
    if not data_raw.get("train"):
        raise ValueError("data.train is required: a dataset folder (save_to_disk), JSONL or Parquet file")
    model = ModelSpec(**check_types(model_raw, ModelSpec, "model."))
    data_raw = check_types(data_raw, DataSpec, "data.")
    if not 0 <= data_raw.get("eval_fraction", 0.0) < 1:
        raise ValueError(f"data.eval_fraction: expected a share of at least 0 and below 1, got {data_raw['eval_fraction']}")
    if not model.path and not model.tokenizer:
        raise ValueError("model needs either 'path' (a saved model) or 'tokenizer' (to build one from scratch)")
    lora = raw.get("lora")
    if lora is not None:
        from peft import LoraConfig

        _check(lora, {f.name for f in dataclasses.fields(LoraConfig) if f.init}, "lora.", "LoraConfig")
    rewards = raw.get("rewards") or []
    if not isinstance(rewards, list):
        raise ValueError("rewards must be a list of {function: module:name, kwargs: {...}} or {model: PATH}")
    for i, r in enumerate(rewards):
        _check(r, REWARD_KEYS, f"rewards[{i}].", "rewards")
        if ("function" in r) == ("model" in r):
            raise ValueError(f"rewards[{i}] needs exactly one of 'function' or 'model'")
    args = build_args(stage, raw.get("args") or {}, deepspeed=raw.get("deepspeed"))
    return RunConfig(stage=stage, model=model, data=DataSpec(**data_raw), args=args, lora=lora,
                     rewards=rewards, source=Path(path) if path else None, raw=raw)
