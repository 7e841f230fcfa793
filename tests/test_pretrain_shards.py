"""Streaming pretraining build: kill -9 then rerun gives identical shards, EOS between documents, split by document."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from datasets import load_from_disk

from jinglian.formats.samples import train_demo_tokenizer
from jinglian.formats.shards import build_shards, is_validation
from jinglian.formats.tokenizer import PretrainTokenizer, load_pretrain_tokenizer, load_tokenizer

DOCS = [f"第{i}篇文档。" + "精炼中文网页数据，" * (1 + i % 7) for i in range(400)]

BUILD = """
import os, signal, sys
from pathlib import Path
import psutil
from jinglian.formats.shards import build_shards
from jinglian.formats.tokenizer import load_tokenizer
docs = [f"第{i}篇文档。" + "精炼中文网页数据，" * (1 + i % 7) for i in range(400)]
kill_after, workers = int(sys.argv[3]), int(sys.argv[4])
def texts():
    for i, d in enumerate(docs):
        if i == kill_after:
            Path(sys.argv[2], "workers.pid").write_text(" ".join(str(c.pid) for c in psutil.Process().children()))
            os.kill(os.getpid(), signal.SIGKILL)
        yield d
build_shards(texts(), load_tokenizer(sys.argv[1]), Path(sys.argv[2]), 16, 0.1, 0, shard_blocks=8, workers=workers, batch_docs=10)
"""


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok")
    train_demo_tokenizer(path)
    return path


def shard_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.arrow"))}


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_mid_build_then_rerun_gives_byte_identical_shards(tmp_path, tok_dir, workers):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    subprocess.run([sys.executable, "-c", BUILD, str(tok_dir), str(clean), "-1", "1"], check=True)
    proc = subprocess.run([sys.executable, "-c", BUILD, str(tok_dir), str(killed), "300", str(workers)])
    assert proc.returncode == -9
    partial = shard_bytes(killed)
    assert partial and not (killed / "train" / "state.json").exists()  # shards written, folder not yet loadable
    pids = [int(p) for p in (killed / "workers.pid").read_text().split()]
    assert len(pids) == (workers if workers > 1 else 0)
    for pid in pids:  # the worker processes die with the build instead of waiting forever
        psutil.Process(pid).wait(timeout=10) if psutil.pid_exists(pid) else None
    subprocess.run([sys.executable, "-c", BUILD, str(tok_dir), str(killed), "-1", str(workers)], check=True)
    assert shard_bytes(killed) == shard_bytes(clean)
    assert len(shard_bytes(clean)) > len(partial)
    assert load_from_disk(str(killed))["train"]["input_ids"] == load_from_disk(str(clean))["train"]["input_ids"]


def test_blocks_keep_every_token_with_eos_between_documents_and_split_by_document(tmp_path, tok_dir):
    tok = load_tokenizer(str(tok_dir))
    counts, report = build_shards(DOCS, tok, tmp_path, 16, val_ratio=0.2, seed=3, shard_blocks=5)
    dd = load_from_disk(str(tmp_path))
    assert counts == {s: len(dd[s]) for s in dd} and set(counts) == {"train", "validation"}
    assert report.tokens == report.tokens_in_blocks + report.tokens_dropped_tail
    for split in ("train", "validation"):
        docs = [d for d in DOCS if is_validation(d, 0.2, 3) == (split == "validation")]
        expected: list[int] = []
        for d in docs:  # every document of the split, in order, each followed by EOS
            expected += tok(d, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        flat = [t for block in dd[split]["input_ids"] for t in block]
        assert all(len(b) == 16 for b in dd[split]["input_ids"])
        assert flat == expected[:len(flat)] and len(expected) - len(flat) < 16
    n_val = sum(is_validation(d, 0.2, 3) for d in DOCS)
    assert 0 < n_val < len(DOCS) // 2  # the split is per document, near the ratio


def all_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_worker_processes_give_the_same_files_as_one_process(tmp_path, tok_dir):
    tok = load_tokenizer(str(tok_dir))
    one, three = tmp_path / "one", tmp_path / "three"
    r1 = build_shards(DOCS, tok, one, 16, val_ratio=0.2, seed=3, shard_blocks=5, batch_docs=7)
    r3 = build_shards(DOCS, tok, three, 16, val_ratio=0.2, seed=3, shard_blocks=5, batch_docs=7, workers=3)
    assert r1 == r3 and len(list((one / "train").glob("*.arrow"))) > 3
    assert all_files(one) == all_files(three)  # shards, state, stats: byte for byte


def test_validation_choice_does_not_depend_on_order_or_neighbours():
    marks = [is_validation(d, 0.3, 1) for d in DOCS]
    assert [is_validation(d, 0.3, 1) for d in reversed(DOCS)] == marks[::-1]
    assert marks != [is_validation(d, 0.3, 2) for d in DOCS]  # the seed matters


def test_trainer_reads_the_shards_memory_mapped(tmp_path, tok_dir):
    from jinglian.train.config import DataSpec
    from jinglian.train.data import load_splits

    build_shards(DOCS, load_tokenizer(str(tok_dir)), tmp_path, 16, val_ratio=0.2, seed=3, shard_blocks=5)
    train, evald = load_splits(DataSpec(train=str(tmp_path)))
    assert evald is not None and len(train) + len(evald) == sum(len(x) for x in load_from_disk(str(tmp_path)).values())
    shards = sorted((tmp_path / "train").glob("*.arrow"))
    assert len(shards) > 1 and [Path(f["filename"]) for f in train.cache_files] == shards  # memory-mapped shard files


def test_train_pretrain_trains_on_the_shards_without_loading_them(tmp_path, tok_dir):
    from jinglian.train.config import load_config
    from jinglian.train.pretrain import build_pretrain

    build_shards(DOCS, load_tokenizer(str(tok_dir)), tmp_path / "blocks", 16, val_ratio=0.2, seed=3, shard_blocks=5)
    cfg = load_config(None, "pretrain", ["report_to=none", "gradient_checkpointing=false", "dataloader_pin_memory=false",
                                         f"output_dir={tmp_path / 'out'}", "max_steps=1", "per_device_train_batch_size=4"],
                      raw={"model": {"tokenizer": str(tok_dir)}, "data": {"train": str(tmp_path / "blocks")}})
    trainer = build_pretrain(cfg)
    shards = sorted((tmp_path / "blocks" / "train").glob("*.arrow"))
    # the trainer's dataset is the memory-mapped shard files themselves, not a copy in RAM
    assert [Path(f["filename"]) for f in trainer.train_dataset.cache_files] == shards
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["input_ids"].shape == (4, 16)
    from datasets.table import MemoryMappedTable

    blocks = [b for row in trainer.train_dataset.data.blocks for b in row]
    assert len(blocks) == len(shards) and all(isinstance(b, MemoryMappedTable) for b in blocks)


# web text that holds special tokens and mixed scripts: both loaders must split them the same way
MIXED = DOCS[:200] + ["正文<|endoftext|>不是结尾<|im_start|>user", "Mixed 中文 text 12345，emoji 🙂", "   空白\n\n换行\t"]


def with_bos(tok_dir: Path, out: Path) -> Path:
    """A copy of the tokenizer that declares a BOS and a post-processor adding it (LLaMA-style)."""
    shutil.copytree(tok_dir, out)
    spec = json.loads((out / "tokenizer.json").read_text())
    spec["post_processor"] = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|im_start|>", "type_id": 0}},
                              {"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"Sequence": {"id": "A", "type_id": 0}}],
                              "special_tokens": {"<|im_start|>": {"id": "<|im_start|>", "ids": [1], "tokens": ["<|im_start|>"]}}}
    (out / "tokenizer.json").write_text(json.dumps(spec))
    config = json.loads((out / "tokenizer_config.json").read_text())
    (out / "tokenizer_config.json").write_text(json.dumps({**config, "bos_token": "<|im_start|>", "add_bos_token": True}))
    return out


@pytest.mark.parametrize("bos", [False, True])
def test_light_loader_gives_the_same_shards_as_transformers(tmp_path, tok_dir, bos):
    folder = with_bos(tok_dir, tmp_path / "tok_bos") if bos else tok_dir
    heavy, light = load_tokenizer(str(folder)), load_pretrain_tokenizer(str(folder))
    assert isinstance(light, PretrainTokenizer)
    assert (light.eos_token_id, len(light)) == (heavy.eos_token_id, len(heavy))
    a, b = tmp_path / "heavy", tmp_path / "light"
    assert build_shards(MIXED, heavy, a, 16, val_ratio=0.2, seed=3, shard_blocks=5) == \
        build_shards(MIXED, light, b, 16, val_ratio=0.2, seed=3, shard_blocks=5)
    assert all_files(a) == all_files(b) and len(all_files(a)) > 5


def test_light_loader_falls_back_when_tokenizer_json_lacks_the_eos(tmp_path, tok_dir):
    folder = tmp_path / "tok"
    shutil.copytree(tok_dir, folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, "eos_token": "</s>"}))
    tok = load_pretrain_tokenizer(str(folder))  # transformers adds </s> on load; the light path cannot
    assert not isinstance(tok, PretrainTokenizer) and tok.convert_ids_to_tokens(tok.eos_token_id) == "</s>"


def test_cli_build_pretrain_does_not_import_transformers(tmp_path, tok_dir):
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"text": d}, ensure_ascii=False) + "\n" for d in DOCS), encoding="utf-8")
    script = ("import sys\nfrom jinglian.cli import main\nsys.argv = ['jinglian'] + sys.argv[1:]\n"
              "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
              "print('transformers' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", script, "build", "pretrain", str(docs), "--out", str(tmp_path / "blocks"),
                          "--tokenizer", str(tok_dir), "--block-size", "16"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "False"
    assert load_from_disk(str(tmp_path / "blocks"))["train"].num_rows > 10
