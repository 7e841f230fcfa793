"""Dedup: keys, signatures, clusters, the four datatrove stages, the incremental index and the CLI.

Documents are random Chinese text over the sample generator's character set (so unrelated
documents share almost no 5-grams) with planted copies: exact, 繁体, re-punctuated, and edited at
known rates. True Jaccard is computed from the shingle sets, never assumed.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import opencc
import pytest
from interrupt import kill_after_completions

from jinglian.corpus.dedup.api import deduplicate, find_duplicates
from jinglian.corpus.dedup.index import DedupIndex, DedupIndexError
from jinglian.corpus.dedup.minhash import DedupConfig, MinHasher, estimate_jaccard
from jinglian.corpus.dedup.runner import run_dedup
from jinglian.corpus.dedup.shingles import dedup_key, jaccard, shingle_set, strip_to_words
from jinglian.corpus.sample import TOPICS

CHARS = sorted(
    {c for sentences in TOPICS.values() for s in sentences for c in s if "\u4e00" <= c <= "\u9fff"}
)
S2T = opencc.OpenCC("s2t")


def random_text(rng: random.Random, n: int = 300) -> str:
    """Random Han text with Chinese punctuation every 8-20 characters."""
    out, since = [], 0
    for _ in range(n):
        out.append(rng.choice(CHARS))
        since += 1
        if since > rng.randint(8, 20):
            out.append(rng.choice("，。；！？"))
            since = 0
    return "".join(out)


def edit(rng: random.Random, text: str, rate: float) -> str:
    """Substitute, insert or delete about ``rate`` of the characters."""
    out = []
    for c in text:
        r = rng.random()
        if r < rate / 3:
            out.append(rng.choice(CHARS))
        elif r < 2 * rate / 3:
            out += [c, rng.choice(CHARS)]
        elif r >= rate:
            out.append(c)
    return "".join(out)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def planted_corpus(seed: int = 0, n_base: int = 60) -> tuple[list[dict], dict[str, str]]:
    """Base documents plus planted duplicates; returns rows and {duplicate id: original id}."""
    rng = random.Random(seed)
    rows = [{"id": f"b{i:03d}", "text": random_text(rng)} for i in range(n_base)]
    planted = {}
    for i in range(0, n_base, 4):
        base = rows[i]["text"]
        variants = {
            "exact": base,
            "trad": S2T.convert(base),
            "punct": base.replace("，", ", ").replace("。", ". ") + "\n\n",
            "edit": edit(rng, base, 0.01),  # true Jaccard ~0.9 on 5-grams
        }
        kind = list(variants)[(i // 4) % 4]
        rows.append({"id": f"{kind}-of-b{i:03d}", "text": variants[kind]})
        planted[f"{kind}-of-b{i:03d}"] = f"b{i:03d}"
    rows += [
        {"id": "short", "text": "你好"},
        {"id": "short-copy", "text": "你好！"},
        {"id": "no-letters", "text": "……！！"},
    ]
    planted["short-copy"] = "short"
    return rows, planted


def split_files(tmp: Path, rows: list[dict], n: int) -> list[str]:
    return [str(write_jsonl(tmp / f"part{k}.jsonl", rows[k::n])) for k in range(n)]


def expected_by_input_order(planted: dict[str, str], rows: list[dict], n_files: int) -> dict[str, str]:
    """Each planted pair as (later, earlier) in input order: files in order, then lines."""
    position = {r["id"]: (i % n_files, i // n_files) for i, r in enumerate(rows)}
    return dict(sorted((a, b), key=position.get)[::-1] for a, b in planted.items())


def read_out(out: Path, read_docs) -> tuple[list[str], dict[str, tuple]]:
    kept = [d["id"] for d in read_docs(out / "documents")]
    rejected = {
        d["id"]: (
            d["metadata"]["reject_reason"],
            d["metadata"]["duplicate_of"],
            d["metadata"]["dedup_jaccard"],
        )
        for d in read_docs(out / "rejected" / "dedup")
    }
    return kept, rejected


# --- keys and signatures ---------------------------------------------------------------------


def test_key_makes_script_width_and_punctuation_variants_collide():
    simplified = "数据安全和个人隐私保护是数字经济发展的前提，ABC 123。"
    variants = [
        S2T.convert(simplified),
        "数据安全和个人隐私保护是数字经济发展的前提,ＡＢＣ１２３.",
        "  数据安全\u200b和个人隐私保护是数字经济发展的前提！！abc123",
    ]
    assert all(dedup_key(v) == dedup_key(simplified) for v in variants)
    assert dedup_key(simplified) == "数据安全和个人隐私保护是数字经济发展的前提abc123"
    assert dedup_key(S2T.convert(simplified), t2s=False) != dedup_key(simplified)


def test_signature_estimates_true_jaccard():
    rng = random.Random(3)
    hasher = MinHasher(DedupConfig())
    errors = []
    for rate in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4):
        for _ in range(5):
            a = random_text(rng, 700)
            b = edit(rng, a, rate)
            # every key is shingled in 3- and 5-grams: the Jaccard of the union of both sets
            true = jaccard(
                {(3, g) for g in shingle_set(a, 3)} | {(5, g) for g in shingle_set(a, 5)},
                {(3, g) for g in shingle_set(b, 3)} | {(5, g) for g in shingle_set(b, 5)},
            )
            est = estimate_jaccard(hasher.signature(dedup_key(a)), hasher.signature(dedup_key(b)))
            errors.append(abs(est - true))
    assert max(errors) < 0.15  # ~3.5 standard deviations of a 112-value estimate
    assert np.mean(errors) < 0.05


def test_short_documents_get_densified_signatures_and_tiny_ones_none():
    hasher = MinHasher(DedupConfig())
    sig = hasher.signature(dedup_key("研究团队表示新一代芯片"))  # 11 characters: 7 shingles for 112 bins
    assert sig is not None and (sig != np.iinfo(np.uint32).max).all()
    assert (hasher.signature(dedup_key("研究团队表示新一代芯片")) == sig).all()
    assert hasher.signature(dedup_key("你好")) is None


def test_batched_signatures_and_stripping_match_the_one_at_a_time_definitions():
    rng = random.Random(9)
    texts = [random_text(rng, rng.randint(0, 400)) for _ in range(50)] + [
        "你好",
        "",
        "研究团队表示新一代芯片",
        "a_b　c\u200bd𠀀e！ＡＢ①",
    ]
    assert [strip_to_words(t) for t in texts] == [re.sub(r"[\W_]+", "", t) for t in texts]
    hasher = MinHasher(DedupConfig())
    keys = [dedup_key(t) for t in texts]
    sigs, has = hasher.signatures(keys)
    for key, sig, h in zip(keys, sigs, has, strict=True):
        single = hasher.signature(key)
        assert (single is None and not h and not sig.any()) or (h and (single == sig).all())


# --- the in-memory API (prompts) ---------------------------------------------------------------


def test_find_duplicates_on_prompts_keeps_the_first_of_each_cluster():
    rng = random.Random(5)
    prompts = [random_text(rng, 60) for _ in range(30)]
    far = edit(rng, prompts[3], 0.35)  # true Jaccard well below the threshold
    assert jaccard(shingle_set(far, 3), shingle_set(prompts[3], 3)) < 0.5
    texts = prompts + [prompts[0], S2T.convert(prompts[1]), edit(rng, prompts[2], 0.02), far]
    dups = find_duplicates(texts, DedupConfig(ngram=3))
    assert {(d.index, d.of, d.exact) for d in dups} == {(30, 0, True), (31, 1, True), (32, 2, False)}
    assert 0.7 <= next(d for d in dups if d.index == 32).jaccard < 1.0
    assert deduplicate(texts, DedupConfig(ngram=3)) == prompts + [far]


# --- the four stages on an executor ------------------------------------------------------------


def test_output_is_identical_for_any_worker_count_and_books_balance(tmp_path, read_docs):
    rows, planted = planted_corpus()
    files = split_files(tmp_path, rows, 4)
    results = {}
    for workers in (1, 3):
        out = tmp_path / f"out{workers}"
        run = run_dedup(files, out, workers=workers)
        assert run.books.balanced and run.books.docs_in == len(rows)
        results[workers] = read_out(out, read_docs)
        summary = run.summary
    assert results[1] == results[3]
    kept, rejected = results[1]
    # every planted copy, nothing else; the earlier of each pair in input order survives
    assert {doc: of for doc, (_, of, _) in rejected.items()} == expected_by_input_order(planted, rows, 4)
    assert rejected["short"][1] == "short-copy"  # "short-copy" is in part0.jsonl, before "short" in part3
    assert rejected["trad-of-b004"][0] == "exact_duplicate"  # 繁/简 collide exactly after normalization
    assert rejected["punct-of-b008"][0] == "exact_duplicate"
    reason, _, j = rejected["edit-of-b012"]
    assert reason == "near_duplicate" and 0.7 <= j < 1.0
    assert "no-letters" in kept and "short-copy" in kept
    assert summary["exact_only_short"] == 2 and summary["not_deduplicated_empty"] == 1
    stats = json.loads(Path(tmp_path / "out1" / "dedup" / "summary.json").read_text())
    assert stats["duplicates"] == len(planted)


def test_incremental_index_dedups_a_new_batch_against_earlier_ones(tmp_path, read_docs):
    rng = random.Random(11)
    week1 = [{"id": f"w1-{i}", "text": random_text(rng)} for i in range(30)]
    fresh = [{"id": f"w2-{i}", "text": random_text(rng)} for i in range(10)]
    week2 = fresh + [
        {"id": "w2-repost", "text": week1[4]["text"]},
        {"id": "w2-trad", "text": S2T.convert(week1[7]["text"])},
        {"id": "w2-edited", "text": edit(rng, week1[9]["text"], 0.02)},
    ]
    index = tmp_path / "index"
    first = run_dedup([str(write_jsonl(tmp_path / "w1.jsonl", week1))], tmp_path / "o1", index_dir=index)
    assert first.indexed == 30 and first.books.kept == 30
    w2 = [str(write_jsonl(tmp_path / "w2.jsonl", week2))]
    second = run_dedup(w2, tmp_path / "o2", index_dir=index)
    kept, rejected = read_out(tmp_path / "o2", read_docs)
    assert kept == [r["id"] for r in fresh]
    assert {doc: of for doc, (_, of, _) in rejected.items()} == {
        "w2-repost": "w1-4",
        "w2-trad": "w1-7",
        "w2-edited": "w1-9",
    }
    assert second.summary["duplicates_of_index"] == 3 and second.indexed == 10
    assert DedupIndex.open(index, DedupConfig()).documents() == 40
    # the same batch again (a re-run) is not indexed twice, and now all of it is a duplicate
    again = run_dedup(w2, tmp_path / "o3", index_dir=index)
    assert again.indexed is None and again.books.kept == 0
    assert DedupIndex.open(index, DedupConfig()).documents() == 40


def test_foreign_corrupted_or_mismatched_index_is_a_clear_error(tmp_path):
    rows = [{"id": f"d{i}", "text": random_text(random.Random(i))} for i in range(5)]
    files = [str(write_jsonl(tmp_path / "in.jsonl", rows))]
    index = tmp_path / "index"
    run_dedup(files, tmp_path / "o1", index_dir=index)

    with pytest.raises(DedupIndexError, match="built with"):
        DedupIndex.open(index, DedupConfig(ngram=3))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("hello")
    with pytest.raises(DedupIndexError, match="not a jinglian dedup index"):
        DedupIndex.open(foreign, DedupConfig())
    segment = next((index / "segments").glob("*.sig.npy"))
    segment.write_bytes(segment.read_bytes()[:100])  # truncated
    with pytest.raises(DedupIndexError, match="corrupted index segment"):
        DedupIndex.open(index, DedupConfig())
    (index / "index.json").write_text("{not json")
    with pytest.raises(DedupIndexError, match="corrupted index metadata"):
        DedupIndex.open(index, DedupConfig())


# --- the command -------------------------------------------------------------------------------


def test_cli_dedup_end_to_end_and_bad_index(tmp_path, cli, read_docs):
    rows, planted = planted_corpus(seed=2, n_base=24)
    data = write_jsonl(tmp_path / "docs.jsonl", rows)
    proc = cli("dedup", data, "--out", tmp_path / "out", "--index", tmp_path / "index", "--workers", "2")
    assert "books balance" in proc.stdout and "documents added" in proc.stdout
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["balanced"] and stats["in"] == len(rows) and stats["kept"] == len(rows) - len(planted)
    assert len(read_docs(tmp_path / "out" / "documents")) == stats["kept"]

    bad = cli("dedup", data, "--out", tmp_path / "out2", "--index", tmp_path / "out", check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error:") and "not a jinglian dedup index" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def _dedup_cmd(files, out):
    return [
        sys.executable,
        "-m",
        "jinglian.cli",
        "dedup",
        *map(str, files),
        "--out",
        str(out),
        "--workers",
        "1",
    ]


def test_killed_dedup_resumes_to_identical_output(tmp_path, read_docs):
    rng = random.Random(7)
    files = []
    for k in range(6):
        rows = [{"id": f"f{k}-{i}", "text": random_text(rng, 700)} for i in range(600)]
        rows += [{"id": f"f{k}-copy{i}", "text": rows[i]["text"] + "。"} for i in range(0, 600, 50)]
        files.append(write_jsonl(tmp_path / f"in{k}.jsonl", rows))
    reference = tmp_path / "reference"
    subprocess.run(_dedup_cmd(files, reference), check=True, capture_output=True)

    out = tmp_path / "killed"
    completions = out / "dedup" / "1_signature" / "logs" / "completions"
    done_before = kill_after_completions(_dedup_cmd(files, out), completions)
    assert 0 < done_before < len(files), f"kill landed outside the signature stage ({done_before} tasks done)"

    subprocess.run(_dedup_cmd(files, out), check=True, capture_output=True)
    assert "Skipping" in (out / "dedup" / "1_signature" / "logs" / "console.log").read_text()
    assert read_out(out, read_docs) == read_out(reference, read_docs)
    assert json.loads((out / "stats.json").read_text()) == json.loads((reference / "stats.json").read_text())


def test_dedup_stages_slot_into_a_curate_pipeline(tmp_path, read_docs):
    """The recipe ``runner.py`` documents for curate: read -> normalize -> signature -> spill, then replay."""
    from datatrove.pipeline.writers import JsonlWriter

    from jinglian.corpus.dedup.runner import ReplayReader, dedup_stages, run_stages
    from jinglian.corpus.normalize import Normalizer
    from jinglian.corpus.readers import DocumentReader
    from jinglian.corpus.stats import RunBooks
    from jinglian.corpus.writers import document_writer

    rows, planted = planted_corpus(seed=4, n_base=24)
    files = split_files(tmp_path, rows, 3)
    out, work = tmp_path / "curated", tmp_path / "curated" / "dedup"
    rejects = str(out / "rejected")
    stages = dedup_stages(
        source=[DocumentReader(files, rejects_dir=rejects), Normalizer(rejects_dir=rejects)],
        spill=[JsonlWriter(str(work / "stage1"), output_filename="${rank}.jsonl", compression=None)],
        replay=[ReplayReader(work / "stage1")],
        sink=[document_writer(out / "documents")],
        work=work,
        tasks=len(files),
        rejects_dir=rejects,
    )
    results = run_stages(stages, work, workers=2)
    books = RunBooks(results[0].books.steps + results[-1].books.steps)
    assert [s.step for s in books.steps] == ["read", "normalize", "dedup"]
    # "no-letters" survives normalization (it has punctuation) and dedup (nothing to compare)
    assert books.balanced and books.docs_in == len(rows) and books.kept == len(rows) - len(planted)
    kept = read_docs(out / "documents")
    assert all(d["metadata"]["script"] in ("hans", "none") for d in kept)  # normalized text went on
    _, rejected = read_out(out, read_docs)
    assert {doc: of for doc, (_, of, _) in rejected.items()} == expected_by_input_order(planted, rows, 3)


def test_index_accepts_another_threshold_and_layout_but_not_other_signatures(tmp_path):
    rng = random.Random(13)
    week1 = [{"id": f"w1-{i}", "text": random_text(rng)} for i in range(10)]
    week2 = [{"id": "w2-edited", "text": edit(rng, week1[3]["text"], 0.01)}]
    index = tmp_path / "index"
    run_dedup([str(write_jsonl(tmp_path / "w1.jsonl", week1))], tmp_path / "o1", index_dir=index)
    stricter = DedupConfig.for_threshold(0.8)
    assert (stricter.bands, stricter.rows) == (14, 8)  # a different layout, the same signatures
    run = run_dedup(
        [str(write_jsonl(tmp_path / "w2.jsonl", week2))], tmp_path / "o2", config=stricter, index_dir=index
    )
    assert run.books.kept == 0 and run.summary["duplicates_of_index"] == 1
    with pytest.raises(DedupIndexError, match="built with"):
        DedupIndex.open(index, DedupConfig(bands=10, rows=10))  # 100 values: other signatures
