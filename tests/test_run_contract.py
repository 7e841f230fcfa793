"""The run contract (jinglian.runs): a folder records what made it; the same command resumes, a
different one is refused with the change named, --overwrite starts afresh (issue 21, items 1 and 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import load_from_disk

from jinglian import runs
from jinglian.corpus.sample import write_sample_jsonl
from jinglian.formats.shards import build_shards
from jinglian.formats.tokenizer import load_tokenizer, train_tokenizer

STRICT = "extends: zh-web\nheuristics:\n  min_han_chars: 400\n"


def books(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def test_filter_rerun_resumes_and_a_changed_input_or_profile_is_refused_until_overwrite(cli, tmp_path):
    """Item 2: filter into an existing --out used to report the first run's books for any input or profile."""
    docs, out = write_sample_jsonl(tmp_path / "docs.jsonl", n=40, seed=1), tmp_path / "f"
    first = cli("filter", docs, "--out", out, "--workers", "1")
    kept = books(out)["kept"]
    again = cli("filter", docs, "--out", out, "--workers", "1")
    assert "resuming the run recorded in" in again.stdout and books(out)["kept"] == kept
    assert first.returncode == again.returncode == 0

    write_sample_jsonl(docs, n=20, seed=2)  # same path, other documents
    changed = cli("filter", docs, "--out", out, "--workers", "1", check=False)
    assert changed.returncode == 2 and len(changed.stderr.strip().splitlines()) == 1
    assert "docs.jsonl changed (" in changed.stderr
    assert "--overwrite" in changed.stderr and "new --out" in changed.stderr

    (tmp_path / "strict.yaml").write_text(STRICT)
    strict = cli("filter", docs, "--out", out, "--workers", "1", "--profile", tmp_path / "strict.yaml", check=False)
    assert strict.returncode == 2 and "heuristics.min_han_chars changed" in strict.stderr
    assert books(out)["kept"] == kept  # nothing touched

    cli("filter", docs, "--out", out, "--workers", "1", "--profile", tmp_path / "strict.yaml", "--overwrite")
    assert books(out)["in"] == 20 and books(out)["kept"] < 20  # the new input, the stricter profile
    assert json.loads((out / "run.json").read_text())["settings"]["profile"]["sections"]["heuristics"][
        "min_han_chars"] == 400


def test_curate_dedup_and_extract_refuse_another_input_into_the_same_out(cli, tmp_path):
    """Item 2 for curate and dedup (and extract): a different input into a finished --out is refused,
    not answered with the old books in 0.0 s."""
    a = write_sample_jsonl(tmp_path / "a.jsonl", n=30, seed=1)
    b = write_sample_jsonl(tmp_path / "b.jsonl", n=30, seed=5)
    for command in ("curate", "dedup"):
        out = tmp_path / command
        cli(command, a, "--out", out, "--workers", "1")
        proc = cli(command, b, "--out", out, "--workers", "1", check=False)
        assert proc.returncode == 2, proc.stdout
        assert "b.jsonl is new" in proc.stderr and "a.jsonl is no longer given" in proc.stderr
        assert json.loads((out / "run.json").read_text())["command"] == command
    page = tmp_path / "page.html"
    page.write_text("<html><body><article><p>" + "精炼中文网页数据。" * 30 + "</p></article></body></html>")
    cli("extract", page, "--out", tmp_path / "extract", "--workers", "1")
    page.write_text(page.read_text().replace("精炼", "提炼"))
    proc = cli("extract", page, "--out", tmp_path / "extract", "--workers", "1", check=False)
    assert proc.returncode == 2 and "page.html changed (" in proc.stderr


@pytest.fixture(scope="module")
def two_tokenizers(tmp_path_factory):
    """Two tokenizers of the same vocabulary size trained on different text (item 1's second case)."""
    from jinglian.corpus.sample import sample_documents

    root = tmp_path_factory.mktemp("toks")
    for name, seed in (("a", 0), ("b", 7)):
        train_tokenizer([d["text"] for d in sample_documents(150, seed=seed)], root / name, vocab_size=600)
    return root / "a", root / "b"


def _decoded(out: Path, tok) -> str:
    return "".join(tok.decode(ids) for ids in load_from_disk(str(out))["train"]["input_ids"])


def test_build_shards_never_reuses_blocks_of_another_input_or_tokenizer(tmp_path, two_tokenizers):
    """Item 1: a second build into the same folder kept the first one's shards (exit 0)."""
    tok = load_tokenizer(str(two_tokenizers[0]))
    first = [f"甲{i}号文件。" + "第一批语料，" * 6 for i in range(120)]
    second = [f"乙{i}号文件。" + "第二批不同的语料内容，" * 6 for i in range(120)]
    out = tmp_path / "blocks"
    build_shards(first, tok, out, 16, shard_blocks=8)
    build_shards(second, tok, out, 16, shard_blocks=8)
    text = _decoded(out, tok)
    assert "乙" in text and "甲" not in text and "第一批" not in text
    assert load_from_disk(str(out))["train"]["input_ids"] == load_from_disk(
        str(_fresh(tmp_path / "fresh", second, tok)))["train"]["input_ids"]

    other = load_tokenizer(str(two_tokenizers[1]))
    assert len(other) == len(tok)  # the old key (vocab size) could not tell them apart
    with pytest.raises(ValueError, match="tokenizer_sha256"):
        build_shards(second, other, out, 16, shard_blocks=8)


def _fresh(out: Path, texts, tok) -> Path:
    build_shards(texts, tok, out, 16, shard_blocks=8)
    return out


def test_cli_build_pretrain_names_a_changed_tokenizer_and_input(cli, tmp_path, two_tokenizers):
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"text": f"第{i}篇。" + "精炼中文网页数据，" * 8}, ensure_ascii=False) + "\n"
                            for i in range(60)), encoding="utf-8")
    out = tmp_path / "blocks"
    cli("build", "pretrain", docs, "--out", out, "--tokenizer", two_tokenizers[0], "--block-size", "16")
    proc = cli("build", "pretrain", docs, "--out", out, "--tokenizer", two_tokenizers[1], "--block-size", "16",
               check=False)
    assert proc.returncode == 2 and "tokenizer.path changed" in proc.stderr and "tokenizer.sha256 changed" in proc.stderr
    with docs.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"text": "新的一篇文档。" * 20}, ensure_ascii=False) + "\n")
    proc = cli("build", "pretrain", docs, "--out", out, "--tokenizer", two_tokenizers[0], "--block-size", "16",
               check=False)
    assert proc.returncode == 2 and "docs.jsonl changed (" in proc.stderr
    cli("build", "pretrain", docs, "--out", out, "--tokenizer", two_tokenizers[1], "--block-size", "16", "--overwrite")
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["tokenizer"]["path"] == str(two_tokenizers[1].resolve())


def test_overwrite_deletes_only_what_jinglian_wrote(tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("一")
    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    (mine / "notes" / "keep.txt").write_text("the user's own file")
    for overwrite in (False, True):  # a non-empty folder without run.json is never emptied
        with pytest.raises(runs.RunMismatch, match="holds no run.json"):
            runs.claim(mine, "filter", [doc], {}, overwrite, say=lambda _: None)
    assert (mine / "notes" / "keep.txt").exists()

    out = tmp_path / "out"
    assert runs.claim(out, "filter", [doc], {"x": 1}, say=lambda _: None) is False
    (out / "documents").mkdir()
    assert runs.claim(out, "filter", [doc], {"x": 1}, say=lambda _: None) is True  # the same run resumes
    assert runs.claim(out, "filter", [doc], {"x": 2}, True, say=lambda _: None) is False
    assert not (out / "documents").exists() and (out / "run.json").exists()

    inner = out / "input.txt"  # an input inside OUT: --overwrite would delete it
    inner.write_text("二")
    with pytest.raises(runs.RunMismatch, match="would delete the input"):
        runs.claim(out, "filter", [inner], {"y": 1}, True, say=lambda _: None)
    assert inner.exists()


def test_large_inputs_are_rehashed_only_when_size_or_mtime_change(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "QUICK_CHECK_BYTES", 4)
    big, out = tmp_path / "big.bin", tmp_path / "out"
    big.write_bytes(b"abcdefgh")
    runs.claim(out, "dedup", [big], {}, say=lambda _: None)
    calls = []
    monkeypatch.setattr(runs, "sha256_file", lambda p: calls.append(p) or "x")
    assert runs.claim(out, "dedup", [big], {}, say=lambda _: None) is True and calls == []
    big.write_bytes(b"abcdefgX")  # same size, new mtime: hashed again, and the change is seen
    with pytest.raises(runs.RunMismatch, match="big.bin changed"):
        runs.claim(out, "dedup", [big], {}, say=lambda _: None)
    assert calls == [big]


def test_train_same_config_resumes_from_the_newest_checkpoint_and_a_change_is_refused(tmp_path):
    from jinglian.commands.train import claim_output_dir
    from jinglian.train.config import load_config

    data, tok, out = tmp_path / "sft.jsonl", tmp_path / "tok", tmp_path / "run"
    data.write_text('{"prompt": "一", "completion": "二"}\n')
    tok.mkdir()
    (tok / "tokenizer.json").write_text("{}")
    raw = {"model": {"tokenizer": str(tok)}, "data": {"train": str(data)}}

    def config(*overrides):
        return load_config(None, "sft", [f"output_dir={out}", "max_steps=4", *overrides], raw=raw)

    claim_output_dir(config())
    (out / "checkpoint-2").mkdir()  # what an interrupted run leaves
    again = config()
    claim_output_dir(again)
    assert again.args.resume_from_checkpoint == str(out / "checkpoint-2")
    explicit = config(f"resume_from_checkpoint={out / 'checkpoint-2'}")  # not part of the record
    claim_output_dir(explicit)
    longer = config("max_steps=8")  # training the same run longer is a resume, not another run
    claim_output_dir(longer)
    assert longer.args.resume_from_checkpoint == str(out / "checkpoint-2")
    with pytest.raises(runs.RunMismatch, match=r"config.args.learning_rate changed .*output_dir"):
        claim_output_dir(config("learning_rate=0.5"))
    (tok / "tokenizer.json").write_text('{"other": 1}')
    with pytest.raises(runs.RunMismatch, match="tokenizer.json changed"):
        claim_output_dir(config())
    claim_output_dir(config(), overwrite=True)
    assert not (out / "checkpoint-2").exists()
