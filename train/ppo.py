"""PPO for language models (RLHF), jinglian's own implementation: TRL removed its PPO trainer in 1.13.

Four roles, as in InstructGPT and the seed notes: the **policy** (trained, from the SFT model), a
frozen **reference** (the SFT model; per-token KL penalty), the **critic** (trained, initialised from
the reward model), and the frozen **reward** (a reward model and/or rule functions). One iteration
(``step``) follows "The N+ Implementation Details of RLHF with PPO" (Huang et al., 2024):

1. rollout: sample ``response_length`` tokens per prompt with :func:`generation_config` (temperature
   only: the checkpoint's own ``generation_config.json`` is ignored, so the tokens come from the
   distribution that is scored in steps 3 and 5); cut each response after its first EOS;
2. score: reward model on query+response at the last response token (or rule functions on the text);
   responses that never emit EOS lose ``missing_eos_penalty``;
3. per-token reward = -kl_coef * (logp_policy - logp_ref), plus the score on the last token; kl_coef is
   fixed, or steered toward ``kl_target`` by :class:`AdaptiveKLController`;
4. GAE (gamma, lam) over the critic's values; returns = advantages + values; whiten advantages;
5. ``num_ppo_epochs`` passes over shuffled minibatches: clipped policy loss, clipped value loss.

With ``lora``, the policy is an adapter on the SFT model and the reference is that model with the
adapter disabled; the critic is an adapter (plus a trainable score head) on the reward model and the
frozen reward is the same model with the adapter disabled: two base models hold all four roles.

Randomness is a function of (seed, step), so a resumed run repeats the same batches and samples and
gives the same loss curve.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from trl.trainer.utils import entropy_from_logits, selective_log_softmax

from jinglian.formats.tokenizer import bos_prefix
from jinglian.train.common import NonFiniteLoss, device, loss_error, resume_arg
from jinglian.train.config import RunConfig
from jinglian.train.ppo_config import PPOConfig

log = logging.getLogger(__name__)


# ---- the math, as plain functions (tested against a loop-by-loop reference) ------------------------------


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


def masked_whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """(x - mean) / std over the masked entries (unbiased variance); the mean is kept if not shift_mean."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask) * (mask.sum() / (mask.sum() - 1).clamp(min=1))
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    return out if shift_mean else out + mean


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float):
    """Generalised advantage estimation over [batch, T]; entries where mask == 0 are beyond the response."""
    values = values * mask
    rewards = rewards * mask
    last = torch.zeros_like(rewards[:, 0])
    adv = torch.zeros_like(rewards)
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = delta + gamma * lam * last
        adv[:, t] = last
    return adv * mask, (adv + values) * mask


def first_eos_mask(responses: torch.Tensor, eos_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mask of tokens up to and including the first EOS, lengths, whether each response ended)."""
    is_eos = responses == eos_id
    ended = is_eos.any(1)
    first = torch.where(ended, is_eos.int().argmax(1), torch.full_like(ended, responses.shape[1], dtype=torch.long))
    lengths = torch.where(ended, first + 1, first)
    mask = torch.arange(responses.shape[1], device=responses.device)[None] < lengths[:, None]
    return mask, lengths, ended


class AdaptiveKLController:
    """Ziegler et al. 2019 (§2.2), as in InstructGPT: steer the KL coefficient toward a target.

    ``coef *= 1 + clip(KL / target - 1, -0.2, 0.2) * n_samples / horizon`` after each rollout, where
    KL is the mean per-response KL (nats) and ``n_samples`` the rollout's size. With no target the
    coefficient stays fixed.
    """

    def __init__(self, coef: float, target: float | None, horizon: int):
        self.coef, self.target, self.horizon = coef, target, horizon

    def update(self, kl: float, n_samples: int) -> float:
        if self.target is not None:
            error = max(-0.2, min(0.2, kl / self.target - 1))
            self.coef *= 1 + error * n_samples / self.horizon
        return self.coef


def generation_config(args: PPOConfig, tokenizer):
    """The one sampling recipe of a rollout, built from ``PPOConfig`` alone.

    Temperature is the only logits processor, because it is the only one that
    :func:`token_logprobs` also applies when it scores; everything a checkpoint's
    ``generation_config.json`` might add (repetition penalty, no-repeat n-grams, min length,
    suppressed tokens, top-k/top-p) is set neutral here and the checkpoint's own config is
    ignored while sampling (see :meth:`PPOTrainer.sample`), so the ratio and the KL are taken
    on the distribution the tokens were drawn from.
    """
    from transformers import GenerationConfig

    if args.top_k or args.top_p < 1.0:
        raise ValueError("ppo: top_k/top_p truncate the sampling distribution while the ratio and KL are taken on the "
                         "full tempered one; leave top_k: 0 and top_p: 1.0 (tune temperature instead)")
    return GenerationConfig(
        do_sample=True, max_new_tokens=args.response_length, min_new_tokens=0, temperature=args.temperature,
        top_k=0, top_p=1.0, typical_p=1.0, min_p=None, epsilon_cutoff=0.0, eta_cutoff=0.0, repetition_penalty=1.0,
        encoder_repetition_penalty=1.0, no_repeat_ngram_size=0, bad_words_ids=None, suppress_tokens=None,
        begin_suppress_tokens=None, forced_bos_token_id=None, forced_eos_token_id=None, renormalize_logits=False,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, num_beams=1,
    )


# ---- model helpers ---------------------------------------------------------------------------------------


def _unwrap(model):
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def token_logprobs(model, ids, attn, context: int, temperature: float, with_entropy: bool = False):
    """Log-probabilities (and entropies) of the response tokens ids[:, context:]."""
    pos = (attn.cumsum(1) - 1).clamp(min=0)
    logits = model(input_ids=ids, attention_mask=attn, position_ids=pos, use_cache=False).logits
    logits = logits[:, context - 1:-1] / temperature
    # TRL's row-by-row log-softmax: no full-vocabulary fp32 copy of [batch, T, vocab] at once
    logp = selective_log_softmax(logits, ids[:, context:])
    return (logp, entropy_from_logits(logits.float())) if with_entropy else logp


def token_values(model, ids, attn) -> torch.Tensor:
    """The score head applied at every position (a critic's values / a reward model's per-token score)."""
    inner = _unwrap(model)
    pos = (attn.cumsum(1) - 1).clamp(min=0)
    hidden = getattr(inner, inner.base_model_prefix)(input_ids=ids, attention_mask=attn, position_ids=pos,
                                                     use_cache=False).last_hidden_state
    return inner.score(hidden).squeeze(-1).float()


def _disabled(model):
    return model.disable_adapter() if hasattr(model, "disable_adapter") else nullcontext()


def prompt_token_ids(tokenizer, prompt, text: str) -> list[int]:
    """Token ids of one prompt (``text``: its rendering, used for a plain string). A conversational prompt goes through the
    builders' one guard (:mod:`jinglian.formats.templates`): control tokens come only from the chat
    template, so a user who types ``<|im_end|>`` gets those characters, not the end of the turn. A
    plain-string prompt is taken as written, markup included."""
    if not isinstance(prompt, list):
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    from jinglian.formats.schema import Message
    from jinglian.formats.templates import SegmentTokenizer, TokenizerChatTemplate

    messages = [Message(m["role"], m.get("content") or "") for m in prompt]
    segments = TokenizerChatTemplate(tokenizer).render(messages, None, set(), add_generation_prompt=True)
    return SegmentTokenizer(tokenizer).encode(segments)[0]


def read_trainer_state(folder: str | Path) -> dict[str, Any]:
    """``trainer_state.pt`` of a checkpoint, loaded as tensors and plain values only (``weights_only``):
    a crafted file cannot run code when a run resumes from it."""
    path = Path(folder) / "trainer_state.pt"
    try:
        return torch.load(path, weights_only=True)
    except Exception as err:  # torch raises UnpicklingError (or RuntimeError) for anything else
        raise ValueError(f"{path}: not a jinglian PPO state (it holds more than tensors and plain values, "
                         f"so it is not unpickled): {str(err).splitlines()[0][:200]}") from None


# ---- the trainer -----------------------------------------------------------------------------------------


class PPOTrainer:
    """``PPOTrainer(args, policy, ref, critic, reward_model, reward_fns, tokenizer, dataset).train()``.

    ``ref=None`` means "the policy with its LoRA adapter disabled"; ``reward_model="critic"`` means "the
    critic with its adapter disabled". ``reward_fns`` are (function, weight) pairs; their weighted sum
    is added to the reward model's score (if any).
    """

    def __init__(self, args: PPOConfig, policy, ref, critic, reward_model, reward_fns: list[tuple[Callable, float]],
                 tokenizer, dataset, on_log: Callable[[dict], None] | None = None):
        if args.batch_size % args.mini_batch_size:
            raise ValueError(f"batch_size {args.batch_size} is not a multiple of mini_batch_size {args.mini_batch_size}")
        columns = getattr(dataset, "column_names", None) or (list(dataset[0]) if len(dataset) else [])
        if "prompt" not in columns:
            raise ValueError(f"ppo needs a dataset with a 'prompt' column; this one has {columns}")
        self.args, self.tok, self.on_log = args, tokenizer, on_log
        self.dev = device()
        self.policy, self.ref, self.critic = policy.to(self.dev), ref, critic.to(self.dev)
        if ref is not None:
            self.ref = ref.to(self.dev).eval().requires_grad_(False)
        self.reward_model = reward_model
        if reward_model not in (None, "critic"):
            self.reward_model = reward_model.to(self.dev).eval().requires_grad_(False)
        self.reward_fns = reward_fns
        if reward_model is None and not reward_fns:
            raise ValueError("ppo needs a reward: a reward model and/or reward functions under 'rewards:'")
        for m in (self.policy, self.critic):  # dropout off: logprobs must not change between rollout and update
            for mod in m.modules():
                if isinstance(mod, torch.nn.Dropout):
                    mod.p = 0.0
        if args.gradient_checkpointing:
            self.policy.gradient_checkpointing_enable()
        rows = dataset["prompt"] if hasattr(dataset, "column_names") else [r["prompt"] for r in dataset]
        self.prompts = [self._render(p) for p in rows]  # a datasets.Dataset or a list of {"prompt": ...}
        # BOS as in every stage (jinglian.formats.tokenizer.bos_prefix): chat-template text as rendered,
        # plain text with the BOS the tokenizer itself adds; long prompts keep their end.
        self.prompt_ids, cut = [], 0
        for p, text in zip(rows, self.prompts, strict=True):
            head = bos_prefix(tokenizer, text, chat_template=isinstance(p, list))
            body = prompt_token_ids(tokenizer, p, text)
            keep = max(1, args.max_prompt_length - len(head))
            cut += len(body) > keep
            self.prompt_ids.append(head + body[-keep:])
        if cut:  # said, not silent (see jinglian.train.lengths for the stages that stop instead)
            log.warning("ppo: %d of %d prompts are longer than max_prompt_length %d; they keep their last tokens",
                        cut, len(rows), args.max_prompt_length)
        self.prompts_cut = cut
        self.generation_config = generation_config(args, tokenizer)
        self.kl_ctl = AdaptiveKLController(args.kl_coef, args.kl_target, args.kl_horizon)
        self.params = [p for m in (self.policy, self.critic) for p in m.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=args.learning_rate, eps=1e-5)
        self.step, self.history = 0, []
        self.eos = tokenizer.eos_token_id

    def _render(self, prompt) -> str:
        if isinstance(prompt, list):  # conversational prompt
            return self.tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        return prompt

    def _autocast(self):
        on = self.args.bf16 and self.dev.type == "cuda"
        return torch.autocast("cuda", dtype=torch.bfloat16) if on else nullcontext()

    def _batch_indexes(self, step: int) -> list[int]:
        """Prompts of iteration ``step``: epochs of seeded permutations, so any step can be recomputed."""
        n, b = len(self.prompts), self.args.batch_size
        out = []
        for k in range(step * b, (step + 1) * b):
            epoch, i = divmod(k, n)
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.args.seed * 7919 + epoch))
            out.append(int(perm[i]))
        return out

    def _batch_prompts(self, step: int) -> list[str]:
        return [self.prompts[i] for i in self._batch_indexes(step)]

    def encode_prompts(self, indexes: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded ``(input_ids, attention_mask)`` of the prompts at ``indexes``."""
        seqs = [self.prompt_ids[i] for i in indexes]
        width = max(len(s) for s in seqs)
        ids = torch.tensor([[self.tok.pad_token_id] * (width - len(s)) + s for s in seqs], device=self.dev)
        attn = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], device=self.dev)
        return ids, attn

    def sample(self, ids: torch.Tensor, attn: torch.Tensor, **extra):
        """``generate`` with :func:`generation_config` and nothing else: the checkpoint's own
        ``generation_config`` is swapped out for the call, so none of its processors can fill in."""
        inner = _unwrap(self.policy)
        saved, inner.generation_config = inner.generation_config, self.generation_config
        try:
            with self._autocast():
                return self.policy.generate(input_ids=ids, attention_mask=attn, generation_config=self.generation_config,
                                            **extra)
        finally:
            inner.generation_config = saved

    def _scores(self, prompts, responses, ids, attn, lengths, context) -> torch.Tensor:
        score = torch.zeros(len(prompts), device=self.dev)
        if self.reward_model is not None:
            model = self.critic if self.reward_model == "critic" else self.reward_model
            with _disabled(model) if self.reward_model == "critic" else nullcontext():
                per_token = token_values(model, ids, attn)
            # Read the score where a transformers sequence classifier pools, as the RM was trained: the last
            # token that is not padding (the EOS itself, or the token before it when pad == eos).
            positions = torch.arange(ids.shape[1], device=ids.device)
            last = (positions * (ids != self.tok.pad_token_id)).argmax(-1)
            score += per_token[torch.arange(len(prompts)), last]
        if self.reward_fns:
            texts = self.tok.batch_decode(responses, skip_special_tokens=True)
            for fn, weight in self.reward_fns:
                score += weight * torch.tensor(fn(prompts=prompts, completions=texts), dtype=torch.float, device=self.dev)
        return score

    @torch.no_grad()
    def rollout(self, step: int) -> dict[str, Any]:
        a = self.args
        indexes = self._batch_indexes(step)
        prompts = [self.prompts[i] for i in indexes]
        prompt_ids, prompt_attn = self.encode_prompts(indexes)
        context = prompt_ids.shape[1]
        torch.manual_seed(a.seed * 1_000_003 + step)  # sampling depends on (seed, step) only
        self.policy.eval()
        try:
            out = self.sample(prompt_ids, prompt_attn)
        except RuntimeError as err:  # torch.multinomial on NaN/inf probabilities: the policy is broken
            if "inf" in str(err) or "nan" in str(err):
                raise NonFiniteLoss(f"the policy's probabilities are NaN/inf at step {step + 1} ({err}); "
                                    "training stopped: lower the learning rate and resume from the last checkpoint") from err
            raise
        responses = out[:, context:]
        responses = F.pad(responses, (0, a.response_length - responses.shape[1]), value=self.tok.pad_token_id)
        mask, lengths, ended = first_eos_mask(responses, self.eos)
        responses = responses.masked_fill(~mask, self.tok.pad_token_id)
        ids = torch.cat([prompt_ids, responses], 1)
        attn = torch.cat([prompt_attn, mask.long()], 1)
        with self._autocast():
            logp = token_logprobs(self.policy, ids, attn, context, a.temperature)
            if self.ref is None:
                with self.policy.disable_adapter():
                    ref_logp = token_logprobs(self.policy, ids, attn, context, a.temperature)
            else:
                ref_logp = token_logprobs(self.ref, ids, attn, context, a.temperature)
            values = token_values(self.critic, ids, attn)[:, context - 1:-1]
            score = self._scores(prompts, responses, ids, attn, lengths, context)
        raw_score = score.clone()
        if a.missing_eos_penalty is not None:
            score = score - a.missing_eos_penalty * (~ended).float()
        m = mask.float()
        kl = (logp - ref_logp) * m
        kl_coef = self.kl_ctl.coef
        rewards = -kl_coef * kl
        rewards[torch.arange(len(prompts)), lengths.clamp(min=1) - 1] += score
        if a.whiten_rewards:
            rewards = masked_whiten(rewards, m, shift_mean=False) * m
        adv, returns = gae(rewards, values, m, a.gamma, a.lam)
        adv = masked_whiten(adv, m) * m
        return {"ids": ids, "attn": attn, "context": context, "mask": m, "logp": logp * m, "values": values * m,
                "adv": adv, "returns": returns, "score": raw_score, "reward": score, "kl": kl.sum(1),
                "lengths": lengths, "ended": ended, "non_score": (-kl_coef * kl).sum(1),
                "kl_coef": kl_coef}

    def update(self, r: dict[str, Any], step: int) -> dict[str, float]:
        a = self.args
        self.policy.train()
        self.critic.train()
        gen = torch.Generator().manual_seed(a.seed * 31337 + step)
        stats: dict[str, list[float]] = {k: [] for k in ("pg", "vf", "clipfrac", "vf_clipfrac", "approxkl", "entropy")}
        for _ in range(a.num_ppo_epochs):
            for idx in torch.randperm(a.batch_size, generator=gen).split(a.mini_batch_size):
                idx = idx.to(self.dev)
                ids, attn, m = r["ids"][idx], r["attn"][idx], r["mask"][idx]
                with self._autocast():
                    logp, ent = token_logprobs(self.policy, ids, attn, r["context"], a.temperature, with_entropy=True)
                    vpred = token_values(self.critic, ids, attn)[:, r["context"] - 1:-1]
                old_v, ret, adv = r["values"][idx], r["returns"][idx], r["adv"][idx]
                v_clip = old_v + (vpred - old_v).clamp(-a.cliprange_value, a.cliprange_value)
                vf1, vf2 = (vpred - ret) ** 2, (v_clip - ret) ** 2
                vf_loss = 0.5 * masked_mean(torch.max(vf1, vf2), m)
                logratio = (logp - r["logp"][idx]) * m
                ratio = torch.exp(logratio)
                pg1, pg2 = -adv * ratio, -adv * ratio.clamp(1 - a.cliprange, 1 + a.cliprange)
                pg_loss = masked_mean(torch.max(pg1, pg2), m)
                loss = pg_loss + a.vf_coef * vf_loss
                if not math.isfinite(loss.item()):
                    raise loss_error(loss.item(), step + 1)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if a.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(self.params, a.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():
                    for k, v in (("pg", pg_loss), ("vf", vf_loss), ("clipfrac", masked_mean((pg2 > pg1).float(), m)),
                                 ("vf_clipfrac", masked_mean((vf2 > vf1).float(), m)),
                                 ("approxkl", 0.5 * masked_mean(logratio**2, m)), ("entropy", masked_mean(ent, m))):
                        stats[k].append(v.item())
        return {k: sum(v) / len(v) for k, v in stats.items()}

    def train(self) -> list[dict[str, float]]:
        a = self.args
        if self.step == 0:  # a fresh run: the metrics log starts empty (a resumed run appends)
            (Path(a.output_dir) / "log.jsonl").unlink(missing_ok=True)
        while self.step < a.max_steps:
            r = self.rollout(self.step)
            s = self.update(r, self.step)
            self.kl_ctl.update(r["kl"].mean().item(), a.batch_size)
            self.step += 1
            row = {"step": self.step, "score": r["score"].mean().item(), "reward": r["reward"].mean().item(),
                   "kl": r["kl"].mean().item(), "kl_coef": r["kl_coef"], "non_score_reward": r["non_score"].mean().item(),
                   "entropy": s["entropy"], "clipfrac": s["clipfrac"], "approxkl": s["approxkl"],
                   "loss_policy": s["pg"], "loss_value": s["vf"], "value_clipfrac": s["vf_clipfrac"],
                   "value_error": masked_mean((r["values"] - r["returns"]) ** 2, r["mask"]).item(),
                   "response_length": r["lengths"].float().mean().item(), "eos_fraction": r["ended"].float().mean().item()}
            self.history.append(row)
            self._log(row)
            if a.save_steps and self.step % a.save_steps == 0 and self.step < a.max_steps:
                self.save_checkpoint()
        self.save_checkpoint()
        return self.history

    def _log(self, row: dict) -> None:
        Path(self.args.output_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(self.args.output_dir) / "log.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        if self.on_log and row["step"] % max(1, self.args.logging_steps) == 0:
            self.on_log(row)

    # ---- checkpoints: written to a temporary folder, then renamed (a crash never leaves half a checkpoint)

    def save_checkpoint(self) -> Path:
        final = Path(self.args.output_dir) / f"checkpoint-{self.step}"
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self.policy.save_pretrained(tmp / "policy")
        self.critic.save_pretrained(tmp / "critic")
        self.tok.save_pretrained(tmp / "policy")
        torch.save({"step": self.step, "optimizer": self.optimizer.state_dict(), "history": self.history,
                    "kl_coef": self.kl_ctl.coef, "args": asdict(self.args)}, tmp / "trainer_state.pt")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return final

    def load_checkpoint(self, folder: str | Path) -> None:
        """Weights come in through the model loaders (see ``build_ppo``); this restores the rest."""
        state = read_trainer_state(folder)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.history = state["step"], state["history"]
        self.kl_ctl.coef = state.get("kl_coef", self.args.kl_coef)
        # the metrics log restarts from the checkpoint's history: rows of steps after it (an interrupted
        # run's) would be written again and the curves would double back
        log_path = Path(self.args.output_dir) / "log.jsonl"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = log_path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(row) + "\n" for row in self.history), encoding="utf-8")
        os.replace(tmp, log_path)


def build_ppo(cfg: RunConfig, on_log: Callable[[dict], None] | None = None) -> PPOTrainer:
    """Load the four roles from a run config (``model`` = the SFT policy; ``rewards`` = model and/or functions)."""
    from jinglian.train.data import load_splits
    from jinglian.train.models import load_model, load_tokenizer, lora_config
    from jinglian.train.rewards import load_function

    a: PPOConfig = cfg.args
    ckpt = resume_arg(a)
    tok = load_tokenizer(cfg.model)
    train, _ = load_splits(cfg.data)
    rm_paths = [r["model"] for r in cfg.rewards if "model" in r]
    if len(rm_paths) > 1:
        raise ValueError("ppo takes at most one reward model")
    rm_path = rm_paths[0] if rm_paths else None
    fns = [(load_function(r["function"], r.get("kwargs")), float(r.get("weight", 1.0))) for r in cfg.rewards if "function" in r]
    critic_path = a.critic_path or rm_path or cfg.model.path

    policy = load_model(cfg.model, tok, "causal", seed=a.seed)
    critic = load_model(cfg.model, tok, "score", path=critic_path, seed=a.seed + 1)
    if cfg.lora is not None:
        from peft import PeftModel, get_peft_model

        if ckpt:
            policy = PeftModel.from_pretrained(policy, Path(ckpt) / "policy", is_trainable=True)
            critic = PeftModel.from_pretrained(critic, Path(ckpt) / "critic", is_trainable=True)
        else:
            policy = get_peft_model(policy, lora_config(cfg.lora))
            critic = get_peft_model(critic, lora_config(cfg.lora, "SEQ_CLS"))
        ref = None
        reward_model = "critic" if rm_path and critic_path == rm_path else None
    else:
        ref = load_model(cfg.model, tok, "causal", seed=a.seed)
        if ckpt:
            policy = load_model(cfg.model, tok, "causal", path=str(Path(ckpt) / "policy"))
            critic = load_model(cfg.model, tok, "score", path=str(Path(ckpt) / "critic"))
        reward_model = None
    if rm_path and reward_model is None:
        reward_model = load_model(cfg.model, tok, "score", path=rm_path)
    trainer = PPOTrainer(a, policy, ref, critic, reward_model, fns, tok, train, on_log=on_log)
    if ckpt:
        trainer.load_checkpoint(ckpt)
    return trainer


def run_ppo(cfg: RunConfig, on_log: Callable[[dict], None] | None = None) -> dict[str, Any]:
    from jinglian.train.common import write_summary

    trainer = build_ppo(cfg, on_log)
    history = trainer.train()
    out = Path(cfg.args.output_dir)
    trainer.policy.save_pretrained(out)
    trainer.tok.save_pretrained(out)
    k = max(1, len(history) // 5)
    metrics = {"steps": trainer.step, "score_first": sum(h["score"] for h in history[:k]) / k,
               "score_last": sum(h["score"] for h in history[-k:]) / k, "kl_last": history[-1]["kl"],
               "history": history}
    write_summary(str(out), "ppo", metrics)
    return metrics
