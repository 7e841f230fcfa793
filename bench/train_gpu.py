"""Training on one GPU: SFT throughput padded vs packed, one DeepSpeed ZeRO-2 step, one PPO iteration with LoRA.

    python bench/train_gpu.py [--out DIR] [--sizes 0.5B,1.5B] [--ppo-size 7B] [--tiny]

Prints one table and writes ``DIR/train_gpu.json`` (``--out`` or ``$JINGLIAN_BENCH_OUT``; default
``bench-out``). Needs only torch, transformers, accelerate and peft; DeepSpeed is used when importable
(bring it as a wheel, see bench/README.md), otherwise that row says it was skipped. ``--tiny`` runs
every path with toy sizes (on a CPU too) to check the script itself.

What is measured, all with random init (no downloads), fp32 master weights and bf16 autocast, fused
AdamW, SDPA attention (FlashAttention-2 when ``flash_attn`` is installed):

* **SFT, padded**: batches of 8 samples with a realistic long-tailed length distribution (median
  ~300 tokens, up to 2,048), right-padded to the longest in the batch; labels -100 on padding.
* **SFT, packed**: the same samples packed best-fit-decreasing into 2,048-token rows, 4 rows a step (TRL's
  ``packing: true``, strategy ``bfd``); with FlashAttention the rows are concatenated padding-free
  with ``position_ids`` restarting at each sample (TRL's collator), with SDPA each row gets a
  block-diagonal causal mask; either way samples never attend to each other.
* tokens/s counts real (non-pad) tokens; MFU = 6 · params · tokens/s / peak bf16 FLOP/s (989 TFLOP/s
  for H100/H200 SXM dense; attention FLOPs are left out, so MFU is slightly understated).
* **ZeRO-2**: ``deepspeed.initialize`` with ``train/deepspeed/zero2.json`` on one GPU, one
  forward/backward/step of the first size: time and peak memory.
* **PPO**: one iteration of ``jinglian.train.ppo.PPOTrainer`` (rollout of 8 prompts × 128 new tokens,
  reference = policy with adapter disabled, critic + reward = a second base with its adapter on/off,
  GAE, 1 PPO epoch in 2 minibatches), LoRA r=16 on all linear layers, bf16 base weights.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
PEAK_BF16 = 989e12  # H100 / H200 SXM dense bf16 FLOP/s

QWEN2 = {  # Qwen2 / Qwen2.5 shapes
    "0.5B": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "1.5B": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                 num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "7B": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=1000, tie_word_embeddings=True),
}


def import_jinglian():
    """Make ``import jinglian`` work from a bare checkout (no pip install on an offline box).

    The repository root *is* the package ``jinglian``; a checkout folder can have any name, so a link
    named ``jinglian`` in a temporary folder points at it. Only this script does this.
    """
    try:
        import jinglian.train.ppo  # noqa: F401
    except ImportError:
        link_dir = Path(tempfile.mkdtemp(prefix="jinglian-path-"))
        (link_dir / "jinglian").symlink_to(REPO, target_is_directory=True)
        sys.path.insert(0, str(link_dir))


def attn_impl() -> str:
    return "flash_attention_2" if importlib.util.find_spec("flash_attn") else "sdpa"


def build(size: str, dev, dtype=torch.float32, kind: str = "causal"):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, Qwen2Config

    cfg = Qwen2Config(**QWEN2[size], max_position_embeddings=4096, pad_token_id=0, eos_token_id=1,
                      num_labels=1, attn_implementation=attn_impl())
    auto = AutoModelForCausalLM if kind == "causal" else AutoModelForSequenceClassification
    torch.manual_seed(0)
    with torch.device(dev):
        return auto.from_config(cfg, dtype=dtype)


def sample_lengths(n: int, max_len: int, seed: int = 0) -> list[int]:
    """Long-tailed SFT lengths: lognormal, median ~300 tokens, clipped to [16, max_len]."""
    rng = random.Random(seed)
    return [max(16, min(max_len, int(rng.lognormvariate(math.log(300), 0.9)))) for _ in range(n)]


def pack_bfd(lengths: list[int], capacity: int) -> list[list[int]]:
    """Best-fit decreasing: sample indices per row of at most ``capacity`` tokens."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        fits = [r for r in range(len(rows)) if room[r] >= lengths[i]]
        if fits:
            best = min(fits, key=lambda r: room[r])
            rows[best].append(i)
            room[best] -= lengths[i]
        else:
            rows.append([i])
            room.append(capacity - lengths[i])
    return rows


def padded_batches(lengths, vocab, batch, dev):
    g = torch.Generator().manual_seed(1)
    for i in range(0, len(lengths) - batch + 1, batch):
        ls = lengths[i:i + batch]
        width = max(ls)
        ids = torch.randint(2, vocab, (batch, width), generator=g)
        attn = (torch.arange(width)[None] < torch.tensor(ls)[:, None]).long()
        labels = ids.masked_fill(attn == 0, -100)
        yield {"input_ids": ids.to(dev), "attention_mask": attn.to(dev), "labels": labels.to(dev)}, sum(ls), batch * width


def packed_batches(lengths, vocab, rows_per_batch, capacity, dev, flat: bool):
    """BFD-packed rows. ``flat``: all rows concatenated into one padding-free sequence (FlashAttention
    varlen reads the sample boundaries from ``position_ids``, as TRL's padding-free collator feeds it).
    Otherwise [rows, capacity] with an explicit block-diagonal causal 4D mask: transformers isolates
    packed samples from ``position_ids`` alone only for batch size 1 under SDPA (checked on 5.24)."""
    g = torch.Generator().manual_seed(1)
    rows = pack_bfd(lengths, capacity)
    for i in range(0, len(rows) - rows_per_batch + 1, rows_per_batch):
        groups = [[lengths[j] for j in row] for row in rows[i:i + rows_per_batch]]
        real = sum(map(sum, groups))
        if flat:
            ls = [n for grp in groups for n in grp]
            ids = torch.randint(2, vocab, (1, real), generator=g)
            pos = torch.cat([torch.arange(n) for n in ls])[None]
            labels = ids.masked_fill(pos == 0, -100)  # no loss across a sample boundary
            yield {"input_ids": ids.to(dev), "position_ids": pos.to(dev), "labels": labels.to(dev)}, real, real
            continue
        ids = torch.randint(2, vocab, (len(groups), capacity), generator=g)
        pos = torch.zeros_like(ids)
        seg = torch.zeros_like(ids)
        labels = ids.clone()
        for r, grp in enumerate(groups):
            at = 0
            for k, n in enumerate(grp + [capacity - sum(grp)]):  # the leftover room is one padding segment
                if n:
                    pos[r, at:at + n], seg[r, at:at + n] = torch.arange(n), k
                    labels[r, at] = -100
                at += n
            labels[r, sum(grp):] = -100
        causal = torch.tril(torch.ones(capacity, capacity, dtype=torch.bool))
        mask = ((seg[:, :, None] == seg[:, None, :]) & causal)[:, None]
        yield ({"input_ids": ids.to(dev), "position_ids": pos.to(dev), "attention_mask": mask.to(dev),
                "labels": labels.to(dev)}, real, len(groups) * capacity)


def sft_throughput(size: str, packed: bool, dev, steps: int, warmup: int, max_len: int, rows: int = 4,
                   batch: int = 8) -> dict:
    model = build(size, dev)
    model.config.use_cache = False
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=dev.type == "cuda")
    lengths = sample_lengths(4096, max_len)
    batches = packed_batches(lengths, model.config.vocab_size, rows, max_len, dev, attn_impl() != "sdpa") if packed else \
        padded_batches(lengths, model.config.vocab_size, batch, dev)
    amp = torch.autocast(dev.type, dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", enabled=False)
    real = slots = 0
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for step in range(warmup + steps):
        if step == warmup:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            start, real, slots = time.perf_counter(), 0, 0
        batch, n_real, n_slots = next(batches)
        with amp:
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        real, slots = real + n_real, slots + n_slots
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"SFT bench: loss {loss.item()} at step {step}")
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    tps = real / seconds
    out = {"bench": "sft", "size": size, "params": n_params, "batching": "packed" if packed else "padded",
           "tokens_per_s": tps, "mfu": 6 * n_params * tps / PEAK_BF16 if dev.type == "cuda" else None,
           "padding_share": 1 - real / slots, "steps": steps, "seconds": seconds, "attn": attn_impl(),
           "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else None}
    del model, opt
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return out


def zero2_step(size: str, dev, max_len: int) -> dict:
    if dev.type != "cuda":
        return {"bench": "zero2", "skipped": "needs CUDA"}
    if importlib.util.find_spec("deepspeed") is None:
        return {"bench": "zero2", "skipped": "deepspeed not installed (see bench/README.md: bring its wheel)"}
    import deepspeed

    for key, value in (("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29511"), ("RANK", "0"), ("LOCAL_RANK", "0"),
                       ("WORLD_SIZE", "1")):
        os.environ.setdefault(key, value)
    deepspeed.init_distributed()
    ds = json.loads((REPO / "train/deepspeed/zero2.json").read_text())
    ds.update({"bf16": {"enabled": True}, "fp16": {"enabled": False}, "gradient_clipping": 1.0,
               "train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1, "train_batch_size": 1,
               "optimizer": {"type": "AdamW", "params": {"lr": 1e-5}}})
    ds["zero_optimization"]["reduce_bucket_size"] = 5e8
    model = build(size, dev)
    torch.cuda.reset_peak_memory_stats()
    engine, *_ = deepspeed.initialize(model=model, model_parameters=model.parameters(), config=ds)
    ids = torch.randint(2, model.config.vocab_size, (1, max_len), device=dev)
    times = []
    for _ in range(3):
        torch.cuda.synchronize()
        t = time.perf_counter()
        loss = engine(input_ids=ids, labels=ids).loss
        engine.backward(loss)
        engine.step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    out = {"bench": "zero2", "size": size, "seconds_per_step": min(times[1:]), "first_step_s": times[0],
           "tokens_per_s": max_len / min(times[1:]), "loss": loss.item(),
           "peak_gib": torch.cuda.max_memory_allocated() / 2**30}
    del engine, model
    torch.cuda.empty_cache()
    return out


def ppo_iteration(size: str, dev, tiny: bool) -> dict:
    import_jinglian()
    from peft import LoraConfig, get_peft_model

    from jinglian.train.ppo import PPOConfig, PPOTrainer
    from jinglian.train.toy import SUBJECTS, build_tokenizer, question

    tok = build_tokenizer()  # ids < 128: prompts are valid for any vocabulary
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    policy = build(size, dev, dtype)
    critic = build(size, dev, dtype, kind="score")
    for m in (policy, critic):
        m.config.pad_token_id, m.config.eos_token_id = tok.pad_token_id, tok.eos_token_id
    lora = dict(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear")
    policy = get_peft_model(policy, LoraConfig(task_type="CAUSAL_LM", **lora))
    critic = get_peft_model(critic, LoraConfig(task_type="SEQ_CLS", modules_to_save=["score"], **lora))
    build_s = time.perf_counter() - t0
    prompts = [{"prompt": question(s) * (1 if tiny else 12)} for s in SUBJECTS]  # ~100-token prompts at full size
    args = PPOConfig(output_dir=tempfile.mkdtemp(prefix="ppo-bench-"), max_steps=1, batch_size=8, mini_batch_size=4,
                     num_ppo_epochs=1, response_length=8 if tiny else 128, temperature=1.0, learning_rate=1e-5,
                     bf16=dev.type == "cuda")
    trainer = PPOTrainer(args, policy, None, critic, "critic", [], tok, prompts)
    times = {}
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    r = trainer.rollout(0)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    times["rollout_s"] = time.perf_counter() - t
    t = time.perf_counter()
    stats = trainer.update(r, 0)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    times["update_s"] = time.perf_counter() - t
    trainable = sum(p.numel() for p in trainer.params)
    total = sum(p.numel() for m in (policy, critic) for p in m.parameters())
    out = {"bench": "ppo", "size": size, "lora_r": 16, "batch": 8, "response_length": args.response_length,
           "prompt_tokens": r["context"], "build_s": build_s, **times, "iteration_s": sum(times.values()),
           "trainable_params": trainable, "params_two_bases": total, "kl": r["kl"].mean().item(),
           "loss_policy": stats["pg"], "loss_value": stats["vf"],
           "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else None}
    del trainer, policy, critic
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return out


def table(rows: list[dict]) -> str:
    lines = [f"{'bench':<8}{'size':<6}{'mode':<9}{'tokens/s':>11}{'MFU':>7}{'pad %':>7}{'s/step':>9}{'peak GiB':>10}  note"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"{r['bench']:<8}{'':<6}{'':<9}{'':>11}{'':>7}{'':>7}{'':>9}{'':>10}  skipped: {r['skipped']}")
            continue
        mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "-"
        pad = f"{100 * r['padding_share']:.1f}" if "padding_share" in r else "-"
        tps = f"{r['tokens_per_s']:,.0f}" if "tokens_per_s" in r else "-"
        step = r.get("seconds_per_step") or r.get("iteration_s") or r["seconds"] / r["steps"]
        peak = f"{r['peak_gib']:.1f}" if r.get("peak_gib") is not None else "-"
        note = (f"rollout {r['rollout_s']:.1f}s + update {r['update_s']:.1f}s, LoRA r16, 4 roles on 2 bases"
                if r["bench"] == "ppo" else r.get("attn", ""))
        lines.append(f"{r['bench']:<8}{r['size']:<6}{r.get('batching', 'lora' if r['bench'] == 'ppo' else 'zero2'):<9}"
                     f"{tps:>11}{mfu:>7}{pad:>7}{step:>9.2f}{peak:>10}  {note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.environ.get("JINGLIAN_BENCH_OUT", "bench-out"))
    p.add_argument("--sizes", default="0.5B,1.5B")
    p.add_argument("--ppo-size", default="7B")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--max-len", type=int, default=2048)
    p.add_argument("--skip", default="", help="comma list of: sft, zero2, ppo")
    p.add_argument("--tiny", action="store_true", help="toy sizes, 2 steps: check the script (CPU is fine)")
    a = p.parse_args(argv)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sizes = ["tiny"] if a.tiny else a.sizes.split(",")
    steps, warmup, max_len = (2, 1, 256) if a.tiny else (a.steps, 3, a.max_len)
    skip = set(filter(None, a.skip.split(",")))
    env = {"torch": torch.__version__, "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"}
    for name in ("transformers", "accelerate", "peft", "deepspeed", "trl", "datasets", "flash_attn"):
        spec = importlib.util.find_spec(name)
        env[name] = __import__(name).__version__ if spec else None
    print(json.dumps(env))
    rows: list[dict] = []
    started = time.perf_counter()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    def record(fn, *args):
        try:
            rows.append(fn(*args))
        except Exception as err:  # one failing row must not lose the others
            rows.append({"bench": fn.__name__, "skipped": f"{type(err).__name__}: {err}"[:300]})
        print(table(rows[-1:]).split("\n")[1], flush=True)
        (out / "train_gpu.json").write_text(json.dumps({"env": env, "rows": rows}, indent=2))

    if "sft" not in skip:
        for size in sizes:
            for packed in (False, True):
                record(sft_throughput, size, packed, dev, steps, warmup, max_len)
    if "zero2" not in skip:
        record(zero2_step, sizes[0], dev, max_len)
    if "ppo" not in skip:
        record(ppo_iteration, "tiny" if a.tiny else a.ppo_size, dev, a.tiny)
    print()
    print(table(rows))
    print(f"\nwall time {time.perf_counter() - started:.0f} s; JSON: {out / 'train_gpu.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
