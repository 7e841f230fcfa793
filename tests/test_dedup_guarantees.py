"""Dedup guarantees: the earliest document survives for any --tasks, an index refuses a run whose
keys or signatures would differ (naming the setting), and short texts are shingled in 3-grams."""

from __future__ import annotations

import json
import random
from pathlib import Path

import opencc
import pytest

from jinglian.corpus.dedup.api import find_duplicates
from jinglian.corpus.dedup.index import DedupIndex, DedupIndexError
from jinglian.corpus.dedup.minhash import SHORT_BELOW, DedupConfig, MinHasher
from jinglian.corpus.dedup.runner import run_dedup
from jinglian.corpus.dedup.shingles import dedup_key
from jinglian.corpus.sample import TOPICS

CHARS = sorted({c for bank in TOPICS.values() for s in bank for c in s if "\u4e00" <= c <= "\u9fff"})


def text(seed: int, n: int = 300) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(CHARS) + ("，" if i % 13 == 12 else "") for i in range(n))


def write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("tasks", [1, 2, 3])
def test_earliest_document_survives_for_any_task_count(cli, read_docs, tmp_path, tasks):
    """B (file 1) and C (file 2) are equal; whatever the tasks, B is kept and C names B."""
    same = text(1)
    files = [
        write(tmp_path / "0.jsonl", [{"id": "A", "text": text(0)}]),
        write(tmp_path / "1.jsonl", [{"id": "B", "text": same}, {"id": "B2", "text": text(2)}]),
        write(tmp_path / "2.jsonl", [{"id": "C", "text": same}]),
        write(tmp_path / "3.jsonl", [{"id": "D", "text": text(3)}, {"id": "B-copy", "text": same}]),
    ]
    out = tmp_path / f"out{tasks}"
    cli("curate", *files, "--out", out, "--profile", "none", "--tasks", tasks, "--workers", 2)
    assert sorted(d["id"] for d in read_docs(out / "documents")) == ["A", "B", "B2", "D"]
    assert {d["id"]: d["metadata"]["duplicate_of"] for d in read_docs(out / "rejected" / "dedup")} == {
        "C": "B",
        "B-copy": "B",
    }


def test_index_refuses_another_t2s_setting_naming_it(cli, tmp_path):
    data = write(tmp_path / "docs.jsonl", [{"id": f"d{i}", "text": text(i)} for i in range(4)])
    cli("dedup", data, "--out", tmp_path / "o1", "--index", tmp_path / "index")
    proc = cli("dedup", data, "--out", tmp_path / "o2", "--index", tmp_path / "index", "--no-t2s", check=False)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "t2s=True" in line and "t2s=False" in line and "--t2s/--no-t2s" in line


@pytest.mark.parametrize(
    "other, setting",
    [
        (DedupConfig(t2s=False), "t2s"),
        (DedupConfig(ngram=4), "ngram"),
        (DedupConfig(short_below=100), "short_below"),
        (DedupConfig(short_ngram=2), "short_ngram"),
        (DedupConfig(bands=10, rows=10), "num_perm"),
        (DedupConfig(seed=1), "seed"),
    ],
)
def test_every_setting_that_changes_keys_or_signatures_is_in_the_fingerprint(tmp_path, other, setting):
    index = tmp_path / "index"
    DedupIndex.open(index, DedupConfig())
    with pytest.raises(DedupIndexError, match=f"built with {setting}="):
        DedupIndex.open(index, other)
    DedupIndex.open(index, DedupConfig.for_threshold(0.8))  # layout and threshold may change


def test_an_index_from_before_the_fingerprint_is_refused(tmp_path):
    index = tmp_path / "index"
    DedupIndex.open(index, DedupConfig())
    meta = json.loads((index / "index.json").read_text())
    meta["version"] = 1
    (index / "index.json").write_text(json.dumps(meta))
    with pytest.raises(DedupIndexError, match="version 1"):
        DedupIndex.open(index, DedupConfig())


def test_every_key_is_shingled_in_3_and_5_grams():
    config = DedupConfig()
    assert config.ngrams == (3, 5) and DedupConfig(short_below=0).ngrams == (5,)
    hasher = MinHasher(config)
    keys = [dedup_key(text(i, n)) for i, n in enumerate([4, 30, SHORT_BELOW - 1, SHORT_BELOW, 700])]
    sigs, has = hasher.signatures(keys)  # the batch path must equal one key at a time
    assert has.all()
    for key, sig in zip(keys, sigs, strict=True):
        assert (hasher.signature(key) == sig).all()
    assert hasher.signatures(["你好"])[1].tolist() == [False]  # shorter than one 3-gram: exact only


def test_two_editions_of_a_short_poem_are_duplicates():
    """One variant character in a 20-character poem: 3-gram J 0.71, 5-gram J 0.68, both sizes 0.70."""
    poem = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    edition = opencc.OpenCC("s2t").convert(poem).replace("，", ", ").replace("明月光", "看月光")
    other = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    found = find_duplicates([poem, edition, other])
    assert [(d.index, d.of) for d in found] == [(1, 0)]


def test_run_dedup_records_the_rule_in_a_new_index(tmp_path):
    data = write(tmp_path / "docs.jsonl", [{"id": "p", "text": text(5, 40)}])
    run_dedup([data], tmp_path / "out", index_dir=tmp_path / "index")
    recorded = json.loads((tmp_path / "index" / "index.json").read_text())["config"]
    assert recorded["t2s"] is True and recorded["short_ngram"] == 3 and recorded["short_below"] == SHORT_BELOW


@pytest.mark.parametrize("n", [SHORT_BELOW - 2, SHORT_BELOW - 1, 250, 700])
def test_near_duplicates_pair_at_any_length_including_across_the_old_3_5_gram_cut(n):
    """Issue 21.4: a 398-character text and the same plus two characters (J 0.995) were both kept,
    because one was shingled in 3-grams and the other in 5-grams."""
    base = text(21, n)
    longer = base + "又见"
    assert len(dedup_key(base)) == n and len(dedup_key(longer)) == n + 2
    found = find_duplicates([base, longer, text(22, n)])
    assert [(d.index, d.of) for d in found] == [(1, 0)] and found[0].jaccard > 0.9
