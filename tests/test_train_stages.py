"""The TRL-backed stages on the toy world: config errors, SFT label masks and packing, resume, NaN stop,
reward model ranking, DPO, GRPO, pretraining perplexity, and the memory estimator."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from jinglian.train.config import deepspeed_path, load_config
from jinglian.train.toy import build_toy

FAST = ["gradient_checkpointing=false", "report_to=none", "logging_steps=1", "dataloader_pin_memory=false"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return build_toy(tmp_path_factory.mktemp("toy"))


def cfg_for(stage, toy, data, out, *overrides, **raw):
    raw = {"model": {"tokenizer": str(toy / "tokenizer")}, "data": {"train": str(toy / data)}, **raw}
    return load_config(None, stage, [*FAST, f"output_dir={out}", *overrides], raw=raw)


# ---- config ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("override, named", [
    ("args.lerning_rate=1e-3", "'args.lerning_rate'"),
    ("lerning_rate=1e-3", "'args.lerning_rate'"),
    ("model.config.hiden_size=32", "'model.config.hiden_size'"),
    ("model.tokeniser=x", "'model.tokeniser'"),
    ("data.trian=x", "'data.trian'"),
    ("lora.rank=4", "'lora.rank'"),
])
def test_unknown_keys_are_errors_that_name_the_key(toy, tmp_path, override, named):
    with pytest.raises(ValueError, match=named):
        cfg = cfg_for("sft", toy, "sft", tmp_path, override, lora={"r": 4} if override.startswith("lora") else None)
        from jinglian.train.models import load_model, load_tokenizer

        load_model(cfg.model, load_tokenizer(cfg.model))  # model.config keys are checked against Qwen2Config


def test_yaml_file_overrides_and_sections(toy, tmp_path, monkeypatch):
    # deepspeed=... sets RANK/WORLD_SIZE/MASTER_PORT for a world of one; they must not outlive this
    # test (a later `jinglian` subprocess would inherit a port this process already listens on)
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    path = tmp_path / "run.yaml"
    path.write_text(f"stage: sft\nmodel: {{tokenizer: {toy / 'tokenizer'}}}\ndata: {{train: {toy / 'sft'}}}\n"
                    f"args: {{learning_rate: 1e-4, max_steps: 3, output_dir: {tmp_path / 'o'}}}\n", encoding="utf-8")
    cfg = load_config(path, "sft", ["max_steps=7", "model.config.hidden_size=32"])
    assert cfg.args.learning_rate == 1e-4 and isinstance(cfg.args.learning_rate, float)
    assert cfg.args.max_steps == 7 and cfg.model.config == {"hidden_size": 32}
    assert type(cfg.args).__name__ == "SFTConfig"
    with pytest.raises(ValueError, match="not 'rm'"):
        load_config(path, "rm")
    with pytest.raises(ValueError, match="unknown key 'modle'"):
        load_config(path, "sft", ["modle.path=x"])
    for name in ("zero2", "zero3", "zero3_offload"):
        ds = json.loads(open(deepspeed_path(name)).read())
        assert ds["zero_optimization"]["stage"] == (2 if name == "zero2" else 3)
    with pytest.raises(ValueError, match="zero4"):
        deepspeed_path("zero4")
    ds_cfg = load_config(path, "sft", ["deepspeed=zero3"])  # transformers parses the bundled JSON
    assert ds_cfg.args.hf_deepspeed_config.config["zero_optimization"]["stage"] == 3
    with pytest.raises(ValueError, match="one process"):
        load_config(None, "ppo", ["deepspeed=zero2"], raw={"model": {"tokenizer": "t"}, "data": {"train": "d"}})


def test_lora_sft_trains_only_the_adapter(toy, tmp_path):
    from jinglian.train.common import train_and_save
    from jinglian.train.models import count_parameters
    from jinglian.train.sft import build_sft

    trainer = build_sft(cfg_for("sft", toy, "sft_messages", tmp_path, "max_steps=3", "assistant_only_loss=true",
                                lora={"r": 4, "lora_alpha": 8}))
    base = {k: v.clone() for k, v in trainer.model.named_parameters() if "lora_" not in k}
    m = train_and_save(trainer, trainer.processing_class)
    trainable, total = count_parameters(trainer.model)
    assert 0 < trainable < total / 5
    assert all(torch.equal(v, dict(trainer.model.named_parameters())[k]) for k, v in base.items())
    assert (tmp_path / "adapter_config.json").is_file() and not (tmp_path / "model.safetensors").exists()
    assert m["loss_curve"] and all(math.isfinite(x) for x in m["loss_curve"])


# ---- SFT ------------------------------------------------------------------------------------------------


def _manual_loss(model, batch):
    """Mean cross-entropy over the tokens whose label is not -100 (next-token shift)."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).logits
    labels = batch["labels"]
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)


def test_sft_loss_covers_exactly_the_labelled_tokens(toy, tmp_path):
    from datasets import load_from_disk

    from jinglian.train.sft import build_sft

    trainer = build_sft(cfg_for("sft", toy, "sft_tokenized", tmp_path, "per_device_train_batch_size=4"))
    rows = {tuple(r["input_ids"]): r["labels"] for r in load_from_disk(str(toy / "sft_tokenized"))["train"]}
    batch = next(iter(trainer.get_train_dataloader()))
    for ids, labels, attn in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
        n = int(attn.sum())
        assert labels[:n].tolist() == rows[tuple(ids[:n].tolist())]  # the builder's labels, untouched
        assert (labels[n:] == -100).all()  # padding never counts
    trainer.model.eval()
    with torch.no_grad():
        got = trainer.compute_loss(trainer.model, dict(batch))
        want = _manual_loss(trainer.model, batch)
        assert got.item() == pytest.approx(want.item(), rel=1e-5)
        poisoned = dict(batch, labels=batch["input_ids"].clone())  # loss on every token is a different number
        assert _manual_loss(trainer.model, poisoned).item() != pytest.approx(got.item(), rel=1e-3)


def test_sft_prompt_completion_trains_on_the_completion_only(toy, tmp_path):
    from jinglian.train.sft import build_sft

    trainer = build_sft(cfg_for("sft", toy, "sft", tmp_path, "per_device_train_batch_size=4"))
    tok = trainer.processing_class
    batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    masked = tok.decode([i for i, lab in zip(ids, labels, strict=True) if lab == -100])
    trained = tok.decode([i for i, lab in zip(ids, labels, strict=True) if lab != -100])
    assert masked.startswith("问：") and masked.endswith("怎么样？"), masked  # the prompt: no loss
    assert trained.startswith("答：") and trained.endswith(tok.eos_token), trained  # completion + EOS


def test_sft_packing_keeps_samples_from_attending_to_each_other(toy, tmp_path):
    from jinglian.train.sft import build_sft

    trainer = build_sft(cfg_for("sft", toy, "sft_tokenized", tmp_path, "packing=true", "max_length=64",
                                "per_device_train_batch_size=2"))
    batch = next(iter(trainer.get_train_dataloader()))
    pos = batch["position_ids"][0]
    starts = (pos == 0).nonzero().flatten().tolist() + [len(pos)]
    assert len(starts) > 4, "several samples share one packed row"
    model = trainer.model.eval()
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            alone = model(input_ids=batch["input_ids"][:, a:b]).logits[0]
            assert torch.allclose(alone, packed[a:b], atol=1e-4), (a, b)


def test_sft_loss_falls_and_resume_repeats_the_curve(toy, tmp_path):
    from jinglian.train.sft import run_sft

    common = ["max_steps=8", "save_steps=4", "learning_rate=1e-2", "per_device_train_batch_size=8"]
    full = run_sft(cfg_for("sft", toy, "sft", tmp_path / "a", *common))["loss_curve"]
    assert full[-1] < 0.7 * full[0], full
    resumed = run_sft(cfg_for("sft", toy, "sft", tmp_path / "a2", *common,
                              f"resume_from_checkpoint={tmp_path / 'a' / 'checkpoint-4'}"))["loss_curve"]
    # the resumed run carries steps 1-4 over from the checkpoint and computes 5-8 again
    assert len(resumed) == 8 and resumed[:4] == full[:4]
    assert resumed[4:] == pytest.approx(full[4:], rel=1e-4)


def test_nan_loss_stops_the_run_with_a_clear_message(toy, tmp_path):
    from jinglian.train.common import NonFiniteLoss
    from jinglian.train.sft import build_sft

    trainer = build_sft(cfg_for("sft", toy, "sft", tmp_path, "max_steps=3", "per_device_train_batch_size=4"))
    with torch.no_grad():
        trainer.model.model.embed_tokens.weight.fill_(float("nan"))  # a corrupted checkpoint
    with pytest.raises(NonFiniteLoss, match=r"loss is nan at step 1.*Lower the learning rate"):
        trainer.train()
    assert not (tmp_path / "checkpoint-3").exists()


# ---- reward model, DPO, GRPO, pretrain ------------------------------------------------------------------


def test_reward_model_learns_the_planted_preference(toy, tmp_path):
    from jinglian.train.rm import build_rm, pairwise_accuracy, run_rm

    cfg = cfg_for("rm", toy, "preference", tmp_path, "max_steps=30", "learning_rate=1e-3",
                  "per_device_train_batch_size=16")
    untrained = build_rm(cfg)
    from datasets import load_from_disk

    # accuracy is taken on the pairs as written, not on TRL's copy (whose `chosen` now holds prompt+chosen+EOS)
    written = load_from_disk(str(toy / "preference"))["test"]
    assert list(untrained.eval_pairs["chosen"]) == list(written["chosen"]) != list(untrained.eval_dataset["chosen"])
    before = pairwise_accuracy(untrained.model, untrained.processing_class, untrained.eval_pairs)
    m = run_rm(cfg)
    assert m["pairwise_accuracy"] >= 0.95 > before, (before, m["pairwise_accuracy"])
    assert m["loss_curve"][-1] < m["loss_curve"][0]


def test_dpo_prefers_the_chosen_answers(toy, tmp_path):
    from jinglian.train.dpo import run_dpo

    m = run_dpo(cfg_for("dpo", toy, "preference", tmp_path, "max_steps=12", "learning_rate=1e-3",
                        "per_device_train_batch_size=8", "max_length=64"))
    assert m["loss_curve"][-1] < m["loss_curve"][0] and m["loss_curve"][0] == pytest.approx(math.log(2), abs=0.05)
    assert m["eval_rewards/accuracies"] >= 0.9


def test_grpo_scores_with_a_function_and_a_reward_model(toy, tmp_path):
    from jinglian.train.grpo import build_grpo
    from jinglian.train.models import load_model, load_tokenizer

    spec = load_config(None, "rm", raw={"model": {"tokenizer": str(toy / "tokenizer")},
                                        "data": {"train": str(toy / "preference")}}).model
    load_model(spec, load_tokenizer(spec), "score", seed=5).save_pretrained(tmp_path / "rm")
    cfg = cfg_for("grpo", toy, "prompts", tmp_path / "out", "max_steps=3", "per_device_train_batch_size=8",
                  "num_generations=8", "max_completion_length=6", "learning_rate=1e-2", "beta=0.04",
                  rewards=[{"function": "jinglian.train.rewards:char_share", "weight": 1.0},
                           {"model": str(tmp_path / "rm"), "weight": 0.5}])
    trainer = build_grpo(cfg)
    before = {k: v.clone() for k, v in trainer.model.named_parameters()}
    trainer.train()
    logged = {k for row in trainer.state.log_history for k in row}
    assert "rewards/char_share/mean" in logged and "rewards/rm/mean" in logged, logged
    assert trainer.args.reward_weights == [1.0, 0.5]
    assert any(not torch.equal(before[k], v) for k, v in trainer.model.named_parameters())


def test_pretrain_lowers_held_out_perplexity(toy, tmp_path):
    from jinglian.train.pretrain import build_pretrain, run_pretrain

    cfg = cfg_for("pretrain", toy, "pretrain", tmp_path, "max_steps=25", "learning_rate=3e-3",
                  "per_device_train_batch_size=16")
    start = math.exp(build_pretrain(cfg).evaluate()["eval_loss"])
    m = run_pretrain(cfg)
    assert start > 50 and m["eval_perplexity"] < 0.5 * start, (start, m["eval_perplexity"])


def test_pretrain_packs_a_text_column_from_jsonl(toy, tmp_path):
    from jinglian.train.pretrain import build_pretrain
    from jinglian.train.toy import toy_text

    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in toy_text(300)), encoding="utf-8")
    cfg = load_config(None, "pretrain", [*FAST, f"output_dir={tmp_path / 'out'}", "max_steps=2"],
                      raw={"model": {"tokenizer": str(toy / "tokenizer")},
                           "data": {"train": str(path), "block_size": 32, "eval_fraction": 0.1}})
    trainer = build_pretrain(cfg)
    assert set(len(r) for r in trainer.train_dataset["input_ids"]) == {32}
    eos = trainer.processing_class.eos_token_id
    assert sum(r.count(eos) for r in trainer.train_dataset["input_ids"]) > 100  # documents joined by EOS
    assert len(trainer.eval_dataset) > 0
    trainer.train()


# ---- memory ---------------------------------------------------------------------------------------------


def test_memory_estimate_explains_the_seed_notes_240g():
    from jinglian.train.memory import estimate, parse_params, plan_table, seed_note

    n = parse_params("7B")
    full = estimate("ppo", n, zero="0")
    states = full["weights"] + full["grads"] + full["optimizer"] + full["frozen"]
    assert states == pytest.approx(2 * 16 * 7 + 2 * 2 * 7)  # 252 GB = 235 GiB: the notes' "240G"
    assert 230 <= states * 1e9 / 2**30 <= 245
    z3 = estimate("ppo", n, zero="3", gpus=8)
    assert z3["weights"] + z3["grads"] + z3["optimizer"] + z3["frozen"] == pytest.approx(states / 8)
    lora = estimate("ppo", n, lora=True, zero="0", seq=1024)
    assert lora["total"] < 80 < full["total"]
    assert estimate("sft", n)["total"] < full["total"] / 2
    assert len(plan_table("ppo", n)) == 8 and "240G" in seed_note(n)
    assert parse_params("1.5b") == 1.5e9 and parse_params("500M") == 5e8
    with pytest.raises(ValueError, match="7 billion"):
        parse_params("7 billion")


def test_a_fresh_score_head_on_a_loaded_backbone_is_the_same_every_time(toy, tmp_path):
    # A reward model starts from the SFT checkpoint plus a new score head: unseeded, two runs of the
    # same config trained different reward models.
    from jinglian.train.config import ModelSpec
    from jinglian.train.models import load_model, load_tokenizer

    spec = ModelSpec(tokenizer=str(toy / "tokenizer"), config={"hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1})
    tok = load_tokenizer(spec)
    load_model(spec, tok, "causal").save_pretrained(tmp_path / "backbone")
    backbone = ModelSpec(path=str(tmp_path / "backbone"))
    heads = []
    for _ in range(2):
        torch.manual_seed(len(heads) + 123)  # whatever ran before must not matter
        heads.append(load_model(backbone, tok, "score", seed=7).score.weight.detach().clone())
    assert torch.equal(heads[0], heads[1])
    assert not torch.equal(heads[0], load_model(backbone, tok, "score", seed=8).score.weight)
