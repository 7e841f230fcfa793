"""PPO: the math against plain reference loops, and the trainer on a toy task with a known reward."""

from __future__ import annotations

import math
import statistics

import pytest
import torch

from jinglian.train.config import load_config
from jinglian.train.ppo import build_ppo, first_eos_mask, gae, masked_whiten, run_ppo
from jinglian.train.toy import build_toy

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return build_toy(tmp_path_factory.mktemp("toy"))


def ppo_config(toy, out, *overrides, rewards=None, model=None, lora=None):
    raw = {"model": model or {"tokenizer": str(toy / "tokenizer")}, "data": {"train": str(toy / "prompts")},
           "rewards": rewards or [{"function": "jinglian.train.rewards:char_share", "kwargs": {"char": "好"}}]}
    if lora:
        raw["lora"] = lora
    base = ["batch_size=32", "mini_batch_size=16", "num_ppo_epochs=2", "response_length=8", "temperature=1.0",
            "learning_rate=3e-2", "kl_coef=0.05", "missing_eos_penalty=null", f"output_dir={out}"]
    return load_config(None, "ppo", base + list(overrides), raw=raw)


# ---- the math -------------------------------------------------------------------------------------------


def reference_gae(rewards, values, length, gamma, lam):
    """GAE for one response, written as the textbook sum: A_t = Σ_l (γλ)^l δ_{t+l}."""
    r, v = rewards[:length], values[:length] + [0.0]
    deltas = [r[t] + gamma * v[t + 1] - v[t] for t in range(length)]
    adv = [sum((gamma * lam) ** k * deltas[t + k] for k in range(length - t)) for t in range(length)]
    return adv, [a + v[t] for t, a in enumerate(adv)]


def test_gae_matches_textbook_sum():
    torch.manual_seed(0)
    rewards, values = torch.randn(5, 7), torch.randn(5, 7)
    lengths = [7, 3, 1, 5, 6]
    mask = (torch.arange(7)[None] < torch.tensor(lengths)[:, None]).float()
    adv, ret = gae(rewards, values, mask, gamma=0.9, lam=0.8)
    for i, n in enumerate(lengths):
        want_adv, want_ret = reference_gae(rewards[i].tolist(), values[i].tolist(), n, 0.9, 0.8)
        assert adv[i, :n].tolist() == pytest.approx(want_adv, abs=1e-5)
        assert ret[i, :n].tolist() == pytest.approx(want_ret, abs=1e-5)
        assert adv[i, n:].abs().sum() == 0 and ret[i, n:].abs().sum() == 0


def test_masked_whiten_matches_statistics_module():
    torch.manual_seed(1)
    x = torch.randn(4, 6) * 3 + 2
    mask = torch.tensor([[1] * 6, [1] * 2 + [0] * 4, [1] * 5 + [0], [0] * 6]).float()
    kept = [v for v, m in zip(x.flatten().tolist(), mask.flatten().tolist(), strict=True) if m]
    mean, std = statistics.mean(kept), statistics.stdev(kept)
    white = masked_whiten(x, mask)
    got = [v for v, m in zip(white.flatten().tolist(), mask.flatten().tolist(), strict=True) if m]
    assert got == pytest.approx([(v - mean) / std for v in kept], abs=1e-4)
    unshifted = masked_whiten(x, mask, shift_mean=False)
    got = [v for v, m in zip(unshifted.flatten().tolist(), mask.flatten().tolist(), strict=True) if m]
    assert got == pytest.approx([(v - mean) / std + mean for v in kept], abs=1e-4)


def test_first_eos_cuts_after_the_first_stop_token():
    eos = 9
    responses = torch.tensor([[1, 2, 9, 4, 9], [1, 2, 3, 4, 5], [9, 1, 1, 1, 1]])
    mask, lengths, ended = first_eos_mask(responses, eos)
    assert lengths.tolist() == [3, 5, 1]
    assert ended.tolist() == [True, False, True]
    assert mask.int().tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]


# ---- the trainer ----------------------------------------------------------------------------------------


def test_ppo_raises_a_known_reward_while_kl_stays_bounded(toy, tmp_path):
    """Reward = share of 好 in the response; a random-init policy says it ~1/vocab of the time."""
    cfg = ppo_config(toy, tmp_path / "ppo", "max_steps=30", "kl_coef=0.02", "learning_rate=1e-2")
    m = run_ppo(cfg)
    assert m["score_first"] < 0.25
    assert m["score_last"] > m["score_first"] + 0.4, (m["score_first"], m["score_last"])
    for key in ("entropy", "clipfrac", "value_error", "approxkl", "response_length", "eos_fraction"):
        assert all(math.isfinite(h[key]) for h in m["history"]), key
    # Collapsing onto one token would cost about response_length * ln(vocab) nats against the
    # near-uniform reference; the penalty keeps the policy short of that ...
    collapse = 8 * math.log(len(build_ppo(cfg).tok))
    assert 0 < m["kl_last"] < collapse, (m["kl_last"], collapse)
    # ... and a strong penalty holds it at the reference (the reward then barely moves).
    held = run_ppo(ppo_config(toy, tmp_path / "held", "max_steps=15", "kl_coef=0.3", "learning_rate=1e-2"))
    assert max(abs(h["kl"]) for h in held["history"]) < 0.2 * m["kl_last"]


def test_missing_eos_penalty_is_subtracted_from_unfinished_responses(toy, tmp_path):
    cfg = ppo_config(toy, tmp_path / "ppo", "max_steps=1", "missing_eos_penalty=2.0", "response_length=4")
    trainer = build_ppo(cfg)
    r = trainer.rollout(0)
    assert (~r["ended"]).any(), "a random policy rarely says EOS within 4 tokens"
    want = r["score"] - 2.0 * (~r["ended"]).float()
    assert torch.allclose(r["reward"], want)
    # tokens after the first EOS are masked out and replaced by padding
    resp = r["ids"][:, r["context"]:]
    for row, n in zip(resp, r["lengths"], strict=True):
        assert (row[n:] == trainer.tok.pad_token_id).all()
        if n < resp.shape[1]:
            assert row[n - 1] == trainer.tok.eos_token_id


def test_ppo_resume_repeats_the_same_curve(toy, tmp_path):
    full = run_ppo(ppo_config(toy, tmp_path / "a", "max_steps=4", "batch_size=8", "mini_batch_size=4"))["history"]
    run_ppo(ppo_config(toy, tmp_path / "b", "max_steps=2", "batch_size=8", "mini_batch_size=4"))
    resumed = run_ppo(ppo_config(toy, tmp_path / "b", "max_steps=4", "batch_size=8", "mini_batch_size=4",
                                 f"resume_from_checkpoint={tmp_path / 'b' / 'checkpoint-2'}"))["history"]
    assert [h["step"] for h in resumed] == [1, 2, 3, 4]
    for a, b in zip(full[2:], resumed[2:], strict=True):
        for key in ("score", "kl", "loss_policy", "loss_value"):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), (a["step"], key)


def test_lora_reference_is_the_base_with_the_adapter_disabled(toy, tmp_path):
    """With LoRA, four roles live on two models: ref = policy base, reward = critic base."""
    sft = tmp_path / "sft"
    from jinglian.train.models import load_model, load_tokenizer

    spec = load_config(None, "ppo", raw={"model": {"tokenizer": str(toy / "tokenizer")},
                                         "data": {"train": str(toy / "prompts")}}).model
    tok = load_tokenizer(spec)
    load_model(spec, tok, "causal", seed=3).save_pretrained(sft)
    load_model(spec, tok, "score", seed=4).save_pretrained(tmp_path / "rm")
    tok.save_pretrained(sft)
    cfg = ppo_config(toy, tmp_path / "ppo", "max_steps=2", "batch_size=8", "mini_batch_size=4",
                     model={"path": str(sft)}, lora={"r": 4, "init_lora_weights": False},
                     rewards=[{"model": str(tmp_path / "rm")}])
    trainer = build_ppo(cfg)
    assert trainer.ref is None and trainer.reward_model == "critic"
    trainer.train()
    ids = tok(["问：茶怎么样？答：茶很好。"], return_tensors="pt").input_ids
    base = load_model(spec, tok, "causal", path=str(sft)).eval()
    rm = load_model(spec, tok, "score", path=str(tmp_path / "rm")).eval()
    with torch.no_grad():
        with trainer.policy.disable_adapter():
            assert torch.allclose(trainer.policy(input_ids=ids).logits, base(input_ids=ids).logits, atol=1e-5)
        assert not torch.allclose(trainer.policy(input_ids=ids).logits, base(input_ids=ids).logits, atol=1e-3)
        with trainer.critic.disable_adapter():
            assert torch.allclose(trainer.critic(input_ids=ids).logits, rm(input_ids=ids).logits, atol=1e-5)


@pytest.mark.parametrize("pad_is_eos", [False, True])
def test_reward_model_score_is_read_where_the_classifier_pools(toy, tmp_path, pad_is_eos):
    """PPO must score a response exactly as the RM was trained (transformers' last-non-pad pooling)."""
    from jinglian.train.models import load_model, load_tokenizer

    spec = load_config(None, "ppo", raw={"model": {"tokenizer": str(toy / "tokenizer")},
                                         "data": {"train": str(toy / "prompts")}}).model
    tok = load_tokenizer(spec)
    if pad_is_eos:  # what `jinglian tokenizer train` writes
        tok.pad_token = tok.eos_token
    load_model(spec, tok, "causal", seed=3).save_pretrained(tmp_path / "sft")
    rm = load_model(spec, tok, "score", seed=4)
    rm.save_pretrained(tmp_path / "rm")
    tok.save_pretrained(tmp_path / "sft")
    cfg = ppo_config(toy, tmp_path / "ppo", "batch_size=8", "mini_batch_size=4", "response_length=6",
                     model={"path": str(tmp_path / "sft")}, rewards=[{"model": str(tmp_path / "rm")}])
    trainer = build_ppo(cfg)
    assert (trainer.tok.pad_token_id == trainer.tok.eos_token_id) == pad_is_eos
    r = trainer.rollout(0)
    rm.config.pad_token_id = trainer.tok.pad_token_id
    with torch.no_grad():
        for i in range(8):
            ids = r["ids"][i][r["attn"][i].bool()]  # the prompt and response without padding
            want = rm(input_ids=ids[None]).logits[0, 0]
            assert r["score"][i].item() == pytest.approx(want.item(), abs=1e-4), i


def test_sampling_and_scoring_use_the_same_distribution(toy, tmp_path):
    """A checkpoint's generation_config (repetition penalty, no-repeat n-grams) must not reach the
    sampler: the log-probabilities generate() sampled from equal the ones PPO scores."""
    trainer = build_ppo(ppo_config(toy, tmp_path / "ppo", "max_steps=1", "temperature=0.7"))
    gc = trainer.policy.generation_config
    gc.repetition_penalty, gc.no_repeat_ngram_size, gc.top_k = 3.0, 1, 5
    ids, attn = trainer.encode_prompts(trainer._batch_indexes(0)[:4])
    torch.manual_seed(0)
    out = trainer.sample(ids, attn, return_dict_in_generate=True, output_scores=True)
    seq = out.sequences
    steps = len(out.scores)
    sampled = torch.stack([torch.log_softmax(s.float(), -1) for s in out.scores], 1)
    sampled = sampled.gather(2, seq[:, ids.shape[1]:, None]).squeeze(-1)
    full_attn = torch.cat([attn, torch.ones_like(seq[:, ids.shape[1]:])], 1)
    from jinglian.train.ppo import token_logprobs

    with torch.no_grad():
        scored = token_logprobs(trainer.policy, seq, full_attn, ids.shape[1], 0.7)
    assert scored.shape[1] == steps
    assert torch.allclose(sampled, scored, atol=1e-4)
    assert gc.repetition_penalty == 3.0  # the checkpoint's config is back after sampling


def test_adaptive_kl_controller_follows_ziegler():
    from jinglian.train.ppo import AdaptiveKLController

    ctl = AdaptiveKLController(0.1, target=2.0, horizon=100)
    assert ctl.update(4.0, 10) == pytest.approx(0.1 * (1 + 0.2 * 10 / 100))  # error clipped at +0.2
    assert ctl.update(1.0, 10) == pytest.approx(0.1 * 1.02 * (1 - 0.2 * 10 / 100))  # KL/target - 1 = -0.5 -> -0.2
    fixed = AdaptiveKLController(0.1, target=None, horizon=100)
    assert fixed.update(50.0, 10) == 0.1


def test_prompts_longer_than_max_prompt_length_are_counted_and_keep_their_end(toy, tmp_path, caplog):
    from datasets import load_from_disk

    prompts = load_from_disk(str(toy / "prompts"))["train"]["prompt"]
    trainer = build_ppo(ppo_config(toy, tmp_path / "ppo", "max_steps=1"))
    lengths = [len(trainer.tok(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    limit = max(lengths) - 1
    with caplog.at_level("WARNING", logger="jinglian.train.ppo"):
        trainer = build_ppo(ppo_config(toy, tmp_path / "ppo", "max_steps=1", f"max_prompt_length={limit}"))
    over = sum(n > limit for n in lengths)
    assert 0 < over and trainer.prompts_cut == over
    assert f"ppo: {over} of {len(prompts)} prompts are longer than max_prompt_length {limit}" in caplog.text
    for text, ids in zip(trainer.prompts, trainer.prompt_ids, strict=True):
        full = trainer.tok(text, add_special_tokens=False)["input_ids"]
        assert ids == full[-limit:]  # the question at the end survives
