"""One BOS rule across the stages, taken from the tokenizer (jinglian.formats.tokenizer.bos_prefix).

With a LLaMA-style tokenizer trained here (Metaspace BPE whose encodings start with ``<s>``), the ids
SFT trains on (jinglian's builder and TRL's own tokenization), the ids the reward model is trained
on and scored with, and the ids PPO generates from and scores carry BOS the same way: plain text
starts with exactly one ``<s>``; text rendered by a chat template is taken as the template wrote it.
"""

from __future__ import annotations

import json
import random

import pytest
import torch
from datasets import Dataset, DatasetDict
from tiny_train import FAST, TINY

from jinglian.train.config import load_config
from jinglian.train.toy import SUBJECTS, bad_answer, good_answer, question

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def llama_style_tokenizer(out):
    """Metaspace BPE with ``<s>`` prepended to every encoding, ``</s>`` EOS, a separate ``<pad>``."""
    from tokenizers import SentencePieceBPETokenizer, processors
    from transformers import PreTrainedTokenizerFast

    from jinglian.formats.templates import CHATML_JINJA

    rng = random.Random(0)
    # questions and answers as separate texts: no merge crosses the prompt/answer boundary
    texts = [question(s) for s in SUBJECTS] * 20 + [f(s, rng) for s in SUBJECTS * 20 for f in (good_answer, bad_answer)]
    specials = ["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>", "<|im_end|>"]
    sp = SentencePieceBPETokenizer()
    sp.train_from_iterator(texts + ["\n：？。 user assistant system"] * 5, vocab_size=200, special_tokens=specials,
                           show_progress=False)
    sp.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                      special_tokens=[("<s>", sp.token_to_id("<s>"))])
    hf = PreTrainedTokenizerFast(tokenizer_object=sp._tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                 unk_token="<unk>", additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    hf.chat_template = CHATML_JINJA
    hf.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The BOS tokenizer, a tiny SFT model and reward model built on it, and datasets as text and as messages."""
    from jinglian.train.models import load_model, load_tokenizer

    root = tmp_path_factory.mktemp("bos")
    tok_dir = llama_style_tokenizer(root / "tok")
    spec = load_config(None, "sft", raw={"model": {"tokenizer": str(tok_dir), "config": TINY},
                                         "data": {"train": "unused"}}).model
    tok = load_tokenizer(spec)
    for role, kind, seed in (("sft", "causal", 1), ("rm", "score", 2)):
        load_model(spec, tok, kind, seed=seed).save_pretrained(root / role)
        tok.save_pretrained(root / role)
    rng = random.Random(3)
    rows = [(question(s), good_answer(s, rng), bad_answer(s, rng)) for s in SUBJECTS * 2]
    user = lambda q: [{"role": "user", "content": q}]  # noqa: E731
    assistant = lambda a: [{"role": "assistant", "content": a}]  # noqa: E731
    data = {
        "text": {"sft": [{"prompt": q, "completion": a} for q, a, _ in rows],
                 "pref": [{"prompt": q, "chosen": a, "rejected": b} for q, a, b in rows],
                 "prompts": [{"prompt": q} for q, _, _ in rows]},
        "messages": {"sft": [{"prompt": user(q), "completion": assistant(a)} for q, a, _ in rows],
                     "pref": [{"prompt": user(q), "chosen": assistant(a), "rejected": assistant(b)} for q, a, b in rows],
                     "prompts": [{"prompt": user(q)} for q, _, _ in rows]},
    }
    for form, sets in data.items():
        for name, records in sets.items():
            DatasetDict(train=Dataset.from_list(records)).save_to_disk(str(root / form / name))
    return root, tok


def cfg(stage, model, data, out, *overrides, **raw):
    fast = FAST if stage != "ppo" else ["max_steps=1"]
    return load_config(None, stage, [*fast, f"output_dir={out}", *overrides],
                       raw={"model": {"path": str(model)}, "data": {"train": str(data)}, **raw})


def test_the_tokenizer_adds_bos_and_the_builder_keeps_exactly_one(world, tmp_path):
    from jinglian.formats.collect import collect
    from jinglian.formats.schema import parse_conversation
    from jinglian.formats.sft import build_dialogue_rows
    from jinglian.formats.templates import get_template
    from jinglian.formats.tokenizer import adds_bos

    root, tok = world
    assert adds_bos(tok) and tok("问：茶怎么样？")["input_ids"][0] == tok.bos_token_id
    path = tmp_path / "alpaca.jsonl"
    path.write_text("".join(json.dumps({"instruction": question(s), "output": good_answer(s, random.Random(0))},
                                       ensure_ascii=False) + "\n" for s in SUBJECTS), encoding="utf-8")
    convs, _, books = collect([str(path)], parse_conversation)
    for template in ("alpaca", "chatml"):
        for row in build_dialogue_rows(convs, "last", get_template(template, tok), books, tok):
            assert row["input_ids"][0] == tok.bos_token_id and row["input_ids"].count(tok.bos_token_id) == 1, template


@pytest.mark.parametrize("form", ["text", "messages"])
def test_sft_rm_and_ppo_see_the_same_bos(world, tmp_path, form):
    from jinglian.train.ppo import build_ppo
    from jinglian.train.rm import _text, build_rm, score_texts
    from jinglian.train.sft import build_sft

    root, tok = world
    bos = tok.bos_token_id
    want = 1 if form == "text" else 0  # plain text: the tokenizer's BOS; chat-template text: as the template writes it

    # SFT: the ids TRL trains on, and the prompt part of them (labels -100)
    sft = build_sft(cfg("sft", root / "sft", root / form / "sft", tmp_path / "sft"))
    sft_prompts = []
    for row in sft.train_dataset:
        ids, labels = row["input_ids"], row["labels"]
        assert ids.count(bos) == want and (ids[0] == bos) == bool(want)
        sft_prompts.append(ids[:next(i for i, lab in enumerate(labels) if lab != -100)])

    # RM: the ids TRL trains it on, and jinglian's scoring of the same pair gives the same number
    rm = build_rm(cfg("rm", root / "rm", root / form / "pref", tmp_path / "rm"))
    model = rm.model.eval()
    pref = Dataset.load_from_disk(str(root / form / "pref" / "train"))  # TRL rewrites the text columns it tokenizes
    assert len(pref) == len(rm.train_dataset)
    for i in range(4):
        ids = rm.train_dataset[i]["chosen_ids"]
        assert ids.count(bos) == want and (ids[0] == bos) == bool(want)
        with torch.no_grad():
            trained_on = model(input_ids=torch.tensor([ids])).logits[0, 0].item()
        text = _text(tok, pref[i]["prompt"], pref[i]["chosen"])
        scored = score_texts(model, tok, [text], chat_template=form == "messages")[0].item()
        assert scored == pytest.approx(trained_on, abs=1e-5), i

    # PPO: generates from the prompt ids SFT trained on, and the RM scores BOS + prompt + response
    ppo = build_ppo(cfg("ppo", root / "sft", root / form / "prompts", tmp_path / "ppo", "batch_size=8",
                        "mini_batch_size=4", "response_length=4", rewards=[{"model": str(root / "rm")}]))
    assert ppo.prompt_ids == sft_prompts
    r = ppo.rollout(0)
    for i, (ids, attn) in zip(ppo._batch_indexes(0), zip(r["ids"], r["attn"], strict=True), strict=True):
        seq = ids[attn.bool()].tolist()  # what the RM scored: the prompt as SFT saw it, then the response
        assert seq[:len(sft_prompts[i])] == sft_prompts[i] and (seq[0] == bos) == bool(want)
