"""GPU memory estimate per stage: weights, gradients, optimizer states, frozen models, activations.

Bytes per parameter, mixed-precision AdamW (what transformers + DeepSpeed do with ``bf16: true``):
bf16 weights 2, bf16 gradients 2, fp32 master weights 4 + Adam's two moments 8 = **16 bytes**.
Frozen models (reference, reward) need only their bf16 weights: **2 bytes**. ZeRO-2 shards gradients
and optimizer states over the GPUs, ZeRO-3 also the weights (frozen ones included);
``zero3_offload`` keeps optimizer states and weights in CPU memory and streams layers in.

Activations (bf16): with gradient checkpointing each layer keeps its input (2·b·s·h bytes) and one
layer at a time is recomputed (~34·b·s·h bytes with FlashAttention, Korthikanti et al. 2022); without
it every layer keeps its 34·b·s·h. Logits add b·s·V·8 bytes (bf16 logits, fp32 copy for the loss and
its gradient). PPO adds the KV cache of generation (2·L·b·s·h·2 bytes, no GQA: an upper bound).

The numbers are estimates for planning (±20%): allocator fragmentation, CUDA context (~0.5–1 GB),
and communication buffers come on top.
"""

from __future__ import annotations

import re

GB = 1e9
# (params, layers, hidden, vocab): Qwen2 / Qwen2.5 shapes, used when --layers/--hidden are not given.
SHAPES = [(0.5e9, 24, 896, 151936), (1.5e9, 28, 1536, 151936), (3e9, 36, 2048, 151936), (7e9, 28, 3584, 152064),
          (14e9, 48, 5120, 152064), (32e9, 64, 5120, 152064), (72e9, 80, 8192, 152064)]
ZERO = ("0", "2", "3", "3-offload")
STAGES = ("pretrain", "sft", "rm", "dpo", "grpo", "ppo")


def parse_params(text: str) -> float:
    """``7B`` / ``1.5b`` / ``500M`` / ``7e9`` → a number of parameters."""
    m = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([kmbt]?)\s*", str(text).lower())
    if not m:
        raise ValueError(f"--params {text!r}: expected something like 7B, 1.5B, 500M or 7e9")
    return float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2)]


def shape(n: float) -> tuple[int, int, int]:
    """(layers, hidden, vocab) of the closest Qwen2-family size."""
    _, layers, hidden, vocab = min(SHAPES, key=lambda s: abs(s[0] - n) / s[0])
    return layers, hidden, vocab


def roles(stage: str) -> tuple[int, int, int]:
    """(trainable models, frozen models, sequences per example) for a stage."""
    return {"pretrain": (1, 0, 1), "sft": (1, 0, 1), "rm": (1, 0, 2), "dpo": (1, 1, 2), "grpo": (1, 1, 1),
            "ppo": (2, 2, 1)}[stage]


def estimate(stage: str, n: float, *, lora: bool = False, zero: str = "0", seq: int = 2048, batch: int = 1,
             gpus: int = 1, layers: int | None = None, hidden: int | None = None, vocab: int | None = None,
             checkpointing: bool = True, lora_fraction: float = 0.005) -> dict[str, float]:
    """Memory per GPU in GB for one stage; see the module docstring for the model."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")
    if zero not in ZERO:
        raise ValueError(f"ZeRO stage {zero!r}: expected one of {', '.join(ZERO)}")
    for name, value in (("--gpus", gpus), ("--seq", seq), ("--batch", batch), ("--layers", layers or 1),
                        ("--hidden", hidden or 1)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} {value}: must be a whole number of at least 1")
    g_layers, g_hidden, g_vocab = shape(n)
    L, h, V = layers or g_layers, hidden or g_hidden, vocab or g_vocab
    trainable, frozen, seqs = roles(stage)
    shard_opt = gpus if zero != "0" else 1
    shard_w = gpus if zero.startswith("3") else 1
    offload = zero == "3-offload"
    if lora:
        # LoRA: each trainable role is a frozen bf16 base plus a small adapter; PPO's reference and
        # reward are those bases with the adapter disabled, GRPO/DPO's reference likewise.
        bases = trainable
        full_weights = bases * 2 * n + trainable * 2 * lora_fraction * n
        grads = trainable * 2 * lora_fraction * n / shard_opt
        optimizer = trainable * 12 * lora_fraction * n / shard_opt
        full_frozen = 0.0
    else:
        full_weights = trainable * 2 * n
        grads = trainable * 2 * n / shard_opt
        optimizer = trainable * 12 * n / shard_opt
        full_frozen = frozen * 2 * n
    weights, frozen_b = full_weights / shard_w, full_frozen / shard_w
    if offload:
        # Only the layers in flight stay on the GPU (about two of L), and ZeRO-3 gathers each one whole
        # on every GPU before it computes: in-flight memory does not shrink with the GPU count. The
        # optimizer lives in CPU memory.
        weights, frozen_b = full_weights * 2 / L, full_frozen * 2 / L
        grads, optimizer = 0.0, 0.0
    b = batch * seqs
    per_layer = 34 * b * seq * h
    acts = (2 * b * seq * h * L + per_layer) if checkpointing else per_layer * L
    acts += b * seq * V * 8
    acts *= trainable  # PPO trains the policy and the critic (the critic has no logits, a small overcount)
    if stage in ("ppo", "grpo"):
        acts += 2 * L * b * seq * h * 2  # generation KV cache
    out = {"weights": weights, "grads": grads, "optimizer": optimizer, "frozen": frozen_b, "activations": acts}
    out = {k: v / GB for k, v in out.items()}
    out["total"] = sum(out.values())
    return out


def plan_table(stage: str, n: float, *, seq: int = 2048, batch: int = 1, gpus: int = 8, layers: int | None = None,
               hidden: int | None = None, checkpointing: bool = True) -> list[dict]:
    """Rows for full and LoRA training under every ZeRO stage (ZeRO-0 means one GPU holds everything)."""
    rows = []
    for mode in ("full", "lora"):
        for zero in ZERO:
            g = 1 if zero == "0" else gpus
            est = estimate(stage, n, lora=mode == "lora", zero=zero, seq=seq, batch=batch, gpus=g, layers=layers,
                           hidden=hidden, checkpointing=checkpointing)
            rows.append({"mode": mode, "zero": f"ZeRO-{zero}" + ("" if zero == "0" else f" ×{g}"), **est})
    return rows


def seed_note(n: float) -> str:
    """Our estimate beside the seed notes' "PPO with 7B models needs about 240G" and why they agree.

    The 240G is a 7B figure: other sizes are compared with what the same count gives at 7B.
    """
    full = estimate("ppo", n, zero="0")
    states = full["weights"] + full["grads"] + full["optimizer"] + full["frozen"]
    lora = estimate("ppo", n, lora=True, zero="0", seq=1024)
    if abs(n / 7e9 - 1) < 0.1:  # a 7B model (6.3B-7.7B): the seed notes' case
        verdict = ": that is the 240G"
    else:
        at_7b = sum(estimate("ppo", 7e9, zero="0")[k] for k in ("weights", "grads", "optimizer", "frozen"))
        verdict = f"; at 7B the same count gives {at_7b:.0f} GB, the notes' 240G"
    return (
        f"The seed notes say PPO with a 7B policy and a 7B reward model needs about 240G. Model states alone, for "
        f"{n / 1e9:.3g}B: two trained models (policy, critic) × 16 B/param + two frozen (reference, reward) × 2 B/param "
        f"= {states:.0f} GB ({states * GB / 2**30:.0f} GiB){verdict}, before any activations "
        f"(+{full['activations']:.0f} GB at seq 2048, batch 1). ZeRO-3 divides the states by the number of GPUs; "
        f"LoRA removes most of them: the reference and reward become the policy's and critic's bases with the adapter "
        f"disabled, about {lora['total']:.0f} GB in all at seq 1024 (one 80 GB GPU)."
    )
