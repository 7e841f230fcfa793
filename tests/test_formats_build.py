"""Builders end to end: the CLI, the shared dev data, preference pairs, prompts, and TRL consuming it all."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest
from datasets import load_from_disk

from jinglian.formats.collect import collect
from jinglian.formats.preference import build_preference_rows, parse_preference
from jinglian.formats.prompts import build_prompt_rows, parse_any_prompt
from jinglian.formats.samples import train_demo_tokenizer, write_samples
from jinglian.formats.schema import parse_conversation
from jinglian.formats.sft import build_dialogue_rows
from jinglian.formats.templates import get_template


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok")
    train_demo_tokenizer(path)
    return path


@pytest.fixture(scope="module")
def tok(tok_dir):
    from jinglian.formats.tokenizer import load_tokenizer

    return load_tokenizer(str(tok_dir))


def decode_trained(tok, row) -> list[str]:
    runs, cur = [], []
    for i, lab in zip(row["input_ids"], row["labels"], strict=True):
        if lab != -100:
            cur.append(i)
        elif cur:
            runs, cur = runs + [tok.decode(cur)], []
    return runs + ([tok.decode(cur)] if cur else [])


# --- the CLI ----------------------------------------------------------------------------------

def test_cli_build_sft_writes_the_documented_layout(cli, tmp_path, tok_dir, tok):
    paths = write_samples(tmp_path / "in")
    out = tmp_path / "sft"
    proc = cli("build", "sft", paths["alpaca"], "--out", out, "--tokenizer", tok_dir)
    assert "books balance: in 5 = kept 5 + rejected 0" in proc.stdout
    for name in ("dataset_dict.json", "train", "parquet/train.parquet", "README.md", "stats.json", "rejected.jsonl"):
        assert (out / name).exists(), name
    ds = load_from_disk(str(out))["train"]
    assert ds.column_names == ["prompt", "completion", "input_ids", "labels", "source"]
    for row in ds:
        assert row["prompt"].startswith("### Instruction:\n") or row["prompt"].startswith("你是")
        assert row["prompt"].endswith("### Response:\n")
        assert decode_trained(tok, row) == [row["completion"] + "<|endoftext|>"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["books"]["balanced"] and stats["tokens"]["trained_tokens"] > 0
    assert "records in: 5 = kept 5 + rejected 0" in (out / "README.md").read_text()


def test_cli_bad_record_is_one_line_and_exit_2(cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "您好"}]}\n'
                   '{"messages": [{"role": "user", "content": "你好"}, {"role": "assistant"}]}\n')
    proc = cli("build", "multiturn", bad, "--out", tmp_path / "o", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {bad}:2: field 'messages[1].content': missing"
    proc = cli("build", "multiturn", bad, "--out", tmp_path / "o", "--max-length", "10", check=False)
    assert proc.returncode == 2 and "needs --tokenizer" in proc.stderr


# --- shared dev data (skipped when absent) -----------------------------------------------------

def test_shared_alpaca_one_sample_per_valid_record(shared_data):
    path = shared_data / "sft" / "alpaca_zh_demo.json"
    records = json.loads(path.read_text())
    convs, rejects, books = collect([str(path)], parse_conversation)
    assert (books.records_in, books.kept, rejects) == (1000, 1000, [])
    rows = build_dialogue_rows(convs, "last", get_template("alpaca"), books, dedup=False)
    assert len(rows) == 1000
    rows = build_dialogue_rows(convs, "last", get_template("alpaca"), books)
    exact_duplicates = len(records) - len({json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records})
    assert exact_duplicates == 8 and len(rows) == 1000 - exact_duplicates
    with_input = [r for r, c in zip(records, convs, strict=True) if r["input"]]
    assert len(with_input) == 139


def test_shared_sharegpt_expand_one_sample_per_assistant_turn(cli, shared_data, tmp_path, tok_dir):
    path = shared_data / "sft" / "sharegpt_zh_dev.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    # default options: exit 0 (blank user turns, e.g. the menu picks of line 59, are kept and counted)
    cli("build", "multiturn", path, "--out", tmp_path / "o")
    out = tmp_path / "mt"
    cli("build", "multiturn", path, "--out", out, "--strategy", "expand", "--no-dedup", "--val-ratio", "0.2")
    stats = json.loads((out / "stats.json").read_text())["books"]
    assert stats["records_in"] == 500 and stats["rejected"] == {} and stats["balanced"]
    assert stats["notes"] == {"dropped_trailing_user": 2, "blank_user_turn": 17}  # lines 119 and 341 end with a human turn
    expected = sum(sum(t["from"] == "gpt" for t in d["conversations"]) for d in lines)
    dd = load_from_disk(str(out))
    assert sum(len(s) for s in dd.values()) == stats["samples"] == expected
    assert set(dd["train"]["source"]).isdisjoint(dd["validation"]["source"])  # a dialogue never straddles splits
    row = dd["train"][0]
    assert row["completion"][0]["role"] == "assistant" and row["prompt"][-1]["role"] == "user"
    assert (out / "rejected.jsonl").read_text() == ""


def test_shared_preference_files(shared_data, tok):
    from trl.data_utils import is_conversational

    files = [str(shared_data / "preference" / n) for n in ("dpo_zh_dev.jsonl", "dpo_zh_demo.json")]
    records, rejects, books = collect(files, parse_preference)
    rows = build_preference_rows(records, get_template("chatml"), books)
    # 11 exact duplicates inside dpo_zh_demo.json + 15 records shared by the two files
    assert (books.records_in, len(rows), books.dropped_samples) == (600, 574, Counter(duplicate=26))
    assert all(is_conversational(r) for r in rows)
    assert sum(r["prompt"][0]["role"] == "system" for r in rows) > 0
    strings = build_preference_rows(records, get_template("alpaca"), books)
    assert all(r["prompt"].endswith("### Response:\n") and isinstance(r["chosen"], str) for r in strings)


# --- preference pairs and prompts ---------------------------------------------------------------

def test_ranked_lists_give_k_choose_2_pairs_with_margins(tmp_path):
    path = tmp_path / "ranked.jsonl"
    recs = [
        {"prompt": "写诗", "responses": ["甲", "乙", "丙", "丁"]},  # best first, no scores: rank margins
        {"prompt": "写词", "responses": ["A", "B", "C"], "scores": [1, 3, 3]},  # B ~ C tied
        {"prompt": "同答", "chosen": "一样", "rejected": " 一样 "},
        {"prompt": "全同", "responses": ["x", "x"]},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
    records, rejects, books = collect([str(path)], parse_preference, "skip")
    assert books.rejected == Counter(identical_pair=1, no_pairs=1)
    assert rejects[0].detail == "field 'rejected': identical to 'chosen' (no preference to learn)"
    rows = build_preference_rows(records, get_template("chatml"), books, with_margin=True)
    first = [(r["chosen"][0]["content"], r["rejected"][0]["content"], r["margin"]) for r in rows if r["prompt"][0]["content"] == "写诗"]
    assert len(first) == 6 and ("甲", "丁", 3.0) in first and ("丙", "丁", 1.0) in first
    second = sorted((r["chosen"][0]["content"], r["rejected"][0]["content"], r["margin"]) for r in rows if r["prompt"][0]["content"] == "写词")
    assert second == [("B", "A", 2.0), ("C", "A", 2.0)] and books.notes["tied_pair_skipped"] == 1


def test_prompts_from_every_kind_of_record(tmp_path):
    paths = write_samples(tmp_path)
    records, _, books = collect([str(p) for p in paths.values()], parse_any_prompt)
    rows = build_prompt_rows(records, get_template("chatml"), books)
    assert books.records_in == 12 and len(rows) == 12
    assert all(r["prompt"][-1]["role"] == "user" for r in rows)
    ranked = next(r for r in rows if r["prompt"][-1]["content"] == "写一句关于秋天的诗。")
    assert ranked["reference"] == "秋风起兮白云飞，草木黄落兮雁南归。"
    alpaca = build_prompt_rows(records, get_template("alpaca"), books)
    assert alpaca[0]["prompt"] == "### Instruction:\n将下列文本翻译成英文：\n今天天气真好\n\n### Response:\n"


# --- TRL consumes the output ----------------------------------------------------------------------

def tiny_config(tok):
    from transformers import Qwen2Config

    return Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                       num_key_value_heads=1, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, num_labels=1)


def test_trl_trainers_accept_the_columns(tmp_path, tok):
    from datasets import Dataset
    from transformers import Qwen2ForCausalLM, Qwen2ForSequenceClassification
    from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer, SFTConfig, SFTTrainer

    paths = write_samples(tmp_path)
    common = {"output_dir": str(tmp_path / "trl"), "report_to": [], "use_cpu": True, "max_steps": 1, "per_device_train_batch_size": 2}
    convs, _, books = collect([str(paths["sharegpt"]), str(paths["messages"])], parse_conversation)
    rows = build_dialogue_rows(convs, "all", get_template("chatml"), books, tok)
    ds = Dataset.from_list(rows)
    model = Qwen2ForCausalLM(tiny_config(tok))
    sft = SFTTrainer(model=model, args=SFTConfig(**common, max_length=None), train_dataset=ds, processing_class=tok)
    assert sft.train_dataset["labels"] == ds["labels"]  # TRL trains exactly our mask
    # the text columns alone, through TRL's own chat-template masking, give the same trained tokens
    text_only = Dataset.from_list([{"messages": r["messages"]} for r in rows])
    sft2 = SFTTrainer(model=model, args=SFTConfig(**common, max_length=None, assistant_only_loss=True), train_dataset=text_only, processing_class=tok)
    ours = [[i for i, lab in zip(r["input_ids"], r["labels"], strict=True) if lab != -100] for r in rows]
    theirs = [[i for i, lab in zip(x["input_ids"], x["labels"], strict=True) if lab != -100] for x in sft2.train_dataset]
    assert [tok.decode(x) for x in ours] == [tok.decode(x) for x in theirs]

    records, _, books = collect([str(paths["preference"])], parse_preference)
    pref = Dataset.from_list(build_preference_rows(records, get_template("chatml"), books))
    dpo = DPOTrainer(model=model, ref_model=copy.deepcopy(model), args=DPOConfig(**common), train_dataset=pref, processing_class=tok)
    assert {"chosen_ids", "rejected_ids"} <= set(dpo.train_dataset.column_names) and len(dpo.train_dataset) == 5
    rm = RewardTrainer(model=Qwen2ForSequenceClassification(tiny_config(tok)), args=RewardConfig(**common), train_dataset=pref, processing_class=tok)
    assert {"chosen_ids", "rejected_ids"} <= set(rm.train_dataset.column_names) and len(rm.train_dataset) == 5
    row = rm.train_dataset[1]  # the system-prompt pair: both sides start with the same rendered prompt
    assert tok.decode(row["chosen_ids"]).startswith("<|im_start|>system\n你是一名医生助手。<|im_end|>\n")
    assert "可以，吃点抗生素好得快。" in tok.decode(row["rejected_ids"])


def test_near_duplicate_prompts_are_dropped_per_source_record(shared_data):
    from jinglian.formats.neardup import drop_near_duplicate_prompts

    path = shared_data / "sft" / "alpaca_zh_demo.json"
    convs, _, books = collect([str(path)], parse_conversation)
    rows = build_dialogue_rows(convs, "last", get_template("alpaca"), books)
    kept = drop_near_duplicate_prompts(rows, 0.8, books)
    dropped = {r["source"] for r in rows} - {r["source"] for r in kept}
    assert dropped == {f"{path}[895]"}  # 请描述泰姬陵的建筑风格。 ~ [112] 描述泰姬陵的建筑风格。
    assert books.samples == len(kept) == 991 and books.dropped_samples["near_duplicate_prompt"] == 1
    # the expand samples of one dialogue share a prompt prefix but are never duplicates of each other
    dialogue = convs[:1]
    from jinglian.formats.schema import Conversation, Message

    long = Conversation([Message("user", "第一个问题是什么"), Message("assistant", "甲"), Message("user", "第二个问题是什么"), Message("assistant", "乙")], None, "d:1")
    rows = build_dialogue_rows(dialogue + [long], "expand", get_template("chatml"), books)
    assert len(drop_near_duplicate_prompts(rows, 0.5, books)) == len(rows) == 3
