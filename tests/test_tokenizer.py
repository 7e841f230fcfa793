"""The BPE tokenizer trainer and pretraining packing."""

from __future__ import annotations

import json

import pytest
from datasets import load_from_disk

from jinglian.corpus.sample import sample_documents
from jinglian.formats.pretrain import chinchilla_budget
from jinglian.formats.shards import build_shards
from jinglian.formats.tokenizer import SPECIAL_TOKENS, load_tokenizer, split_heldout, train_tokenizer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("tok")
    texts = [d["text"] for d in sample_documents(400, seed=3)]
    report = train_tokenizer(texts, out, vocab_size=3000, heldout_every=10)
    return out, report, texts


def test_tokenizer_trains_saves_and_compresses_heldout_chinese(trained):
    out, report, texts = trained
    assert (report.train_docs, report.heldout_docs) == (360, 40)
    assert report.vocab_size == 3000
    # byte-level start: a Han character is 3 bytes; merges must beat one token per byte by far
    assert report.chars_per_token > 1.0 and report.bytes_per_token > 2.0
    assert json.loads((out / "tokenizer_report.json").read_text())["chars_per_token"] == report.chars_per_token
    tok = load_tokenizer(str(out))
    assert [len(tok(t, add_special_tokens=False)["input_ids"]) for t in SPECIAL_TOKENS] == [1, 1, 1]
    assert tok.eos_token == "<|endoftext|>" and tok.pad_token == "<|endoftext|>"
    odd = "龘靐齉 😀 ２０２４年 ｈｅｌｌｏ\n\t 繁體字"
    assert tok.decode(tok(odd, add_special_tokens=False)["input_ids"]) == odd  # byte-level: no <unk>, exact round trip
    digits = tok.convert_ids_to_tokens(tok("12345", add_special_tokens=False)["input_ids"])
    assert digits == ["1", "2", "3", "4", "5"]  # digits are split one by one


def test_heldout_documents_are_not_trained_on():
    train, heldout = split_heldout([str(i) for i in range(10)], 5)
    assert heldout == ["4", "9"] and len(train) == 8


def test_cli_tokenizer_train_and_pretrain(cli, tmp_path, sample_jsonl):
    tok_dir = tmp_path / "tok"
    proc = cli("tokenizer", "train", sample_jsonl, "--out", tok_dir, "--vocab-size", "2000")
    assert "chars/token" in proc.stdout and (tok_dir / "tokenizer.json").exists()
    out = tmp_path / "blocks"
    proc = cli("build", "pretrain", sample_jsonl, "--out", out, "--tokenizer", tok_dir, "--block-size", "128", "--model-params", "1M", "--workers", "2", "--parquet")
    assert "Chinchilla budget for 1,000,000 params" in proc.stdout and "20,000,000 tokens" in proc.stdout
    stats = json.loads((out / "stats.json").read_text())["pack"]
    ds = load_from_disk(str(out))["train"]
    assert ds.column_names == ["input_ids"]
    assert len(ds) == stats["blocks"] and all(len(x) == 128 for x in ds["input_ids"])
    assert stats["documents"] == 120 and stats["tokens"] == stats["tokens_in_blocks"] + stats["tokens_dropped_tail"]
    from datasets import load_dataset

    copy = load_dataset("parquet", data_dir=str(out / "parquet"), cache_dir=str(tmp_path / "cache"))["train"]
    assert copy["input_ids"] == ds["input_ids"]  # the Parquet copy holds the same blocks
    assert "blocks" in (out / "README.md").read_text()  # dataset card with the packing report


def test_packing_keeps_every_token_in_order_with_eos_between_documents(trained, tmp_path):
    out, _, texts = trained
    tok = load_tokenizer(str(out))
    docs = texts[:49] + ["网页里出现了<|endoftext|>和<|im_start|>这样的字样。"]
    _, report = build_shards(docs, tok, tmp_path, block_size=100, model_params=5_000_000)
    blocks = load_from_disk(str(tmp_path))["train"]["input_ids"]
    stream = [i for d in docs for i in tok(d, add_special_tokens=False, split_special_tokens=True)["input_ids"] + [tok.eos_token_id]]
    flat = [i for b in blocks for i in b]
    assert flat == stream[: len(flat)] and len(stream) - len(flat) == report.tokens_dropped_tail < 100
    assert stream.count(tok.eos_token_id) == 50  # one per document: the literal <|endoftext|> stayed text
    assert flat.count(tok.eos_token_id) == stream[: len(flat)].count(tok.eos_token_id)
    assert tok.convert_tokens_to_ids("<|im_start|>") not in flat
    assert report.chinchilla_tokens == chinchilla_budget(5_000_000) == 100_000_000
    assert report.corpus_vs_budget == round(report.tokens / 100_000_000, 6)


def test_packing_edge_cases(trained, tmp_path):
    tok = load_tokenizer(str(trained[0]))
    with pytest.raises(ValueError, match="block-size"):
        build_shards(["一篇"], tok, tmp_path / "a", block_size=1)
    with pytest.raises(ValueError, match="fewer than one block"):
        build_shards(["一篇"], tok, tmp_path / "b", block_size=1000)
    _, report = build_shards(["一二", "三"], tok, tmp_path / "c", block_size=2)
    n = len(tok("一二", add_special_tokens=False)["input_ids"]) + len(tok("三", add_special_tokens=False)["input_ids"]) + 2
    assert (report.documents, report.tokens, report.tokens_dropped_tail) == (2, n, n % 2)
