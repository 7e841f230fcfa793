"""Benchmark decontamination: readers, the matching rule on each way pages copy items, the datatrove
step, the CLI (with kill -9 and resume), curate and the SFT builder. Items and texts are written here."""

from __future__ import annotations

import csv
import gzip
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import opencc
import pytest
from conftest import read_jsonl_gz, run_cli
from interrupt import kill_after_completions

from jinglian.corpus.decontam.benchmarks import Item, read_benchmark
from jinglian.corpus.decontam.index import DecontIndex, MatchConfig
from jinglian.corpus.decontam.step import cut_spans
from jinglian.corpus.readers import InputError
from jinglian.corpus.sample import sample_documents

QUESTION = "某同学用高锰酸钾制取氧气并用排水法收集，实验结束时应先把导管移出水面，再熄灭酒精灯，这样做的主要目的是（　　）"
OPTIONS = {"A": "防止水倒吸使试管炸裂", "B": "防止收集到的氧气逸出", "C": "节约酒精灯里的酒精", "D": "使收集到的氧气更纯净"}
PASSAGE = (
    "青石镇的老码头在民国年间曾是方圆百里最热闹的地方。每天天不亮，挑夫们就沿着湿滑的台阶把一筐筐桐油和茶叶搬上货船，"
    "船老大站在船头吆喝，声音在河谷里来回撞。后来公路修到了镇口，货船一年比一年少，码头边的茶馆也先后关了门。"
    "祖父常说，码头没落的那几年，镇上的人才第一次认真想过，自己究竟靠什么活下去。有人进城做了学徒，有人守着几亩薄田，"
    "也有人把旧仓库改成了染坊，用河水漂洗蓝布。那些蓝布晾在河滩上，远远望去像一片落在地上的天空。"
    "如今码头的石阶上长满青苔，只有夏天的傍晚还有孩子在那里跳水。祖父每次路过，都要停下来看一会儿，"
    "仿佛还能听见当年的号子。他说，一个地方的兴衰不在于它失去了什么，而在于留下来的人怎样重新安排自己的日子。"
)
SHORT = "中华人民共和国成立于哪一年"  # 13 characters: matched only when copied (nearly) whole


def _item_text() -> str:
    return QUESTION + "\n" + "\n".join(f"{k}．{v}" for k, v in OPTIONS.items())


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory) -> Path:
    """A C-Eval CSV, a CMMLU CSV, a GAOKAO-Bench JSON and a generic JSONL."""
    d = tmp_path_factory.mktemp("bench")
    with open(d / "chemistry_val.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "question", "A", "B", "C", "D", "answer", "explanation"])
        w.writerow([0, QUESTION, *OPTIONS.values(), "A", ""])
    with open(d / "cmmlu_history.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["", "Question", "A", "B", "C", "D", "Answer"])
        w.writerow([7, "下列哪一项最早记载了二十四节气的完整名称并被后世历法沿用至今", "淮南子", "诗经", "论语", "史记", "A"])
    (d / "gaokao_reading.json").write_text(json.dumps({"keywords": "x", "example": [
        {"year": "2020", "category": "甲", "question": "1．（ 9分）阅读下面的文字，完成问题。\n" + PASSAGE, "answer": ["C"], "index": 3}
    ]}, ensure_ascii=False), encoding="utf-8")
    (d / "short.jsonl").write_text(json.dumps({"id": "s1", "question": SHORT}, ensure_ascii=False) + "\n", encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def index(bench_dir, tmp_path_factory) -> DecontIndex:
    items = [i for name in ("chemistry_val.csv", "cmmlu_history.csv", "gaokao_reading.json", "short.jsonl")
             for i in read_benchmark(f"{Path(name).stem}={bench_dir / name}")]
    folder = tmp_path_factory.mktemp("idx") / "index"
    DecontIndex.build(items, folder, MatchConfig())
    return DecontIndex(folder)


def _hosts(n: int = 6) -> list[str]:
    return [d["text"] for d in sample_documents(n=n, seed=3)]


def _plant(copy: str, host_index: int = 0) -> str:
    host = _hosts()[host_index]
    mid = host.find("。", len(host) // 2) + 1 or len(host)
    return host[:mid] + "\n【例题】" + copy + "\n答案：A\n" + host[mid:]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _strip(text: str) -> str:
    return "".join(c for c in text if not unicodedata.category(c).startswith("P"))


WAYS = {
    "verbatim": lambda t: t,
    "traditional": lambda t: opencc.OpenCC("s2t").convert(t),
    "fullwidth": lambda t: _fullwidth(t.replace("．", ".").replace("，", ",")),
    "stripped_punctuation": _strip,
    "options_one_line": lambda t: re.sub(r"\s+", " ", t),
    "options_many_lines": lambda t: re.sub(r"([A-D])．", r"\n\n\1、 ", t),
    "renumbered_options": lambda t: re.sub(r"([A-D])．", lambda m: f"\n({'ABCD'.index(m.group(1)) + 1}) ", t),
}


@pytest.mark.parametrize("way", sorted(WAYS))
def test_each_way_of_copying_is_found(index, way):
    doc = _plant(WAYS[way](_item_text()))
    hits = index.find(doc)
    assert [(h.benchmark, h.item_id) for h in hits] == [("chemistry_val", "chemistry_val/0")]
    assert hits[0].share >= 0.8
    matched = "".join(doc[a:b] for a, b in hits[0].spans)
    assert "高锰酸钾" in opencc.OpenCC("t2s").convert(matched)  # the span is the copy, in the document's own text


def test_copy_inside_a_longer_page_and_partial_passage(index):
    hosts = _hosts(12)
    page = "\n\n".join(hosts[:5]) + "\n" + _item_text() + "\n" + "\n\n".join(hosts[5:])
    assert {h.item_id for h in index.find(page)} == {"chemistry_val/0"}
    window = PASSAGE[120:260]  # 140 characters out of a long reading passage
    hits = index.find(_plant(window))
    assert [h.item_id for h in hits] == ["gaokao_reading/3"]
    assert hits[0].share < 0.5 and hits[0].run >= 50  # found by the long-run rule, not by share


def test_short_item_does_not_match_a_common_phrase(index):
    common = _plant("据史料记载，中华人民共和国成立于1949年10月1日，这一天被定为国庆节。")
    assert index.find(common) == []
    stem_only = _plant("下列说法正确的是哪一项？请同学们认真思考，某同学用高锰酸钾做了实验。")
    assert index.find(stem_only) == []
    whole = _plant("考考你：中华人民共和国成立于哪一年？")
    assert [h.item_id for h in index.find(whole)] == ["short/s1"]


def test_clean_text_has_no_hits(index):
    assert all(index.find(t) == [] for t in _hosts(60))


def test_cut_keeps_the_rest():
    host = _hosts()[0]
    doc = _plant(_item_text())
    from jinglian.corpus.decontam.index import Hit

    span = (doc.index("某同学"), doc.index("更纯净") + 3)
    cut = cut_spans(doc, [Hit("b", "i", 1.0, 10, [span])])
    assert "高锰酸钾" not in cut and host[:20] in cut and "答案" in cut


def test_readers_layouts_and_errors(bench_dir, tmp_path):
    ceval = read_benchmark(str(bench_dir / "chemistry_val.csv"))
    assert ceval[0].item_id == "chemistry_val/0" and "防止水倒吸" in ceval[0].text and not ceval[0].text.endswith("A")
    cmmlu = read_benchmark(str(bench_dir / "cmmlu_history.csv"))
    assert cmmlu[0].item_id == "cmmlu_history/7" and "二十四节气" in cmmlu[0].text and "淮南子" in cmmlu[0].text
    gaokao = read_benchmark(str(bench_dir / "gaokao_reading.json"))
    assert gaokao[0].item_id == "gaokao_reading/3" and gaokao[0].text.startswith("阅读下面")  # "1．（ 9分）" taken off
    # generic: named fields, a list of options, Parquet and a datasets folder
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"uid": "q1", "stem": "计算一加一等于几并说明理由", "opts": ["一", "二", "三"]}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "mine.parquet")
    items = read_benchmark(f"mine={tmp_path / 'mine.parquet'}", fields=["stem", "opts"])
    assert items[0].benchmark == "mine" and items[0].text == "计算一加一等于几并说明理由\nA. 一\nB. 二\nC. 三"
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    assert read_benchmark(str(tmp_path / "ds"), fields=["stem"])[0].text == "计算一加一等于几并说明理由"
    with pytest.raises(InputError, match="mine.parquet.*'question'"):
        read_benchmark(str(tmp_path / "mine.parquet"))
    with pytest.raises(InputError, match="field 'nope' missing"):
        read_benchmark(str(tmp_path / "mine.parquet"), fields=["nope"])


def test_gaokao_bench_files(shared_data):
    items = read_benchmark(str(shared_data / "benchmarks" / "gaokao_bench_objective"))
    assert len(items) == 1781 and len({i.item_id for i in items}) == 1781


def _docs_with_plants(path: Path, n: int, seed: int, plant_every: int) -> Path:
    docs = sample_documents(n=n, seed=seed)
    with open(path, "w", encoding="utf-8") as f:
        for i, d in enumerate(docs):
            text = d["text"] + ("\n" + _item_text() if i % plant_every == 0 else "")
            f.write(json.dumps({"id": f"{path.stem}-{i}", "text": text}, ensure_ascii=False) + "\n")
    return path


def test_cli_drop_and_cut(bench_dir, tmp_path):
    docs = _docs_with_plants(tmp_path / "docs.jsonl", 60, 0, 10)
    out = tmp_path / "out"
    proc = run_cli("decontaminate", docs, "--benchmarks", f"ceval={bench_dir / 'chemistry_val.csv'}", "--out", out)
    assert "books balance: in 60 = kept 54 + dropped 6" in proc.stdout
    rejected = read_jsonl_gz(out / "rejected")
    assert len(rejected) == 6 and {r["metadata"]["reject_reason"] for r in rejected} == {"contaminated"}
    assert rejected[0]["metadata"]["reject_value"] == "ceval:chemistry_val/0"
    summary = json.loads((out / "decontam" / "summary.json").read_text())
    assert summary["ceval"]["items_found"] == 1 and summary["ceval"]["documents"] == 6
    other = run_cli("decontaminate", docs, "--benchmarks", f"ceval={bench_dir / 'chemistry_val.csv'}", "--out", out,
                    "--min-share", "0.5", check=False)  # resuming with other settings would mix two indexes
    assert other.returncode == 2 and "min_share changed (0.8 → 0.5)" in other.stderr and "--overwrite" in other.stderr
    cut = tmp_path / "cut"
    run_cli("decontaminate", docs, "--benchmarks", f"ceval={bench_dir / 'chemistry_val.csv'}", "--out", cut, "--mode", "cut")
    kept = read_jsonl_gz(cut / "documents")
    assert len(kept) == 60 and not any("高锰酸钾" in d["text"] for d in kept)
    assert sum("decontam_cut" in d.get("metadata", {}) for d in kept) == 6
    from jinglian.report import write_report

    assert "chemistry_val/0 (6)" in write_report(cut).read_text(encoding="utf-8")
    bad = run_cli("decontaminate", docs, "--benchmarks", str(tmp_path / "missing.csv"), "--out", tmp_path / "x", check=False)
    assert bad.returncode == 2 and "missing.csv" in bad.stderr
    (tmp_path / "tiny.jsonl").write_text('{"question": "选哪个"}\n', encoding="utf-8")
    tiny = run_cli("decontaminate", docs, "--benchmarks", tmp_path / "tiny.jsonl", "--out", tmp_path / "y", check=False)
    assert tiny.returncode == 2 and "long enough to match" in tiny.stderr


def _cmd(inputs: list[Path], bench: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "jinglian.cli", "decontaminate", *map(str, inputs), "--benchmarks", str(bench),
            "--out", str(out), "--workers", "1"]


def _outputs(out: Path) -> dict[str, bytes]:
    files = {str(p.relative_to(out)): gzip.decompress(p.read_bytes()) for p in sorted((out / "documents").glob("*.gz"))}
    files |= {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "decontam" / "matches").glob("*"))}
    return files


def test_cli_killed_and_resumed(bench_dir, tmp_path):
    n_files = 10
    inputs = [_docs_with_plants(tmp_path / f"in{i:02d}.jsonl", 1500, i, 50) for i in range(n_files)]
    bench = bench_dir / "chemistry_val.csv"
    reference = tmp_path / "reference"
    subprocess.run(_cmd(inputs, bench, reference), check=True, capture_output=True)
    out = tmp_path / "killed"
    completions = out / "logs" / "completions"
    done_before = kill_after_completions(_cmd(inputs, bench, out), completions)
    assert 0 < done_before < n_files, f"kill landed outside the run ({done_before} of {n_files} tasks done)"
    resumed = subprocess.run(_cmd(inputs, bench, out), check=True, capture_output=True, text=True)
    assert "books balance" in resumed.stdout
    assert "Skipping" in (out / "logs" / "console.log").read_text()
    assert _outputs(out) == _outputs(reference)
    assert (out / "stats.json").read_text() == (reference / "stats.json").read_text()
    assert json.loads((out / "decontam" / "summary.json").read_text())["chemistry_val"]["documents"] == 300


def test_curate_with_benchmarks(bench_dir, tmp_path):
    docs = _docs_with_plants(tmp_path / "docs.jsonl", 40, 1, 8)
    out = tmp_path / "cur"
    proc = run_cli("curate", docs, "--out", out, "--profile", "none", "--no-dedup", "--benchmarks", str(bench_dir / "chemistry_val.csv"))
    books = json.loads((out / "stats.json").read_text())
    step = next(s for s in books["steps"] if s["step"] == "decontaminate")
    assert step["dropped"] == {"contaminated": 5} and books["balanced"], proc.stdout


def test_build_sft_drops_contaminated_records(bench_dir, tmp_path):
    records = [{"instruction": f"请介绍一种常见的水果，第{i}个", "input": "", "output": "苹果富含膳食纤维。"} for i in range(8)]
    records[3] = {"instruction": "请回答这道选择题。\n" + opencc.OpenCC("s2t").convert(_item_text()), "input": "", "output": "A"}
    records[6] = {"instruction": "解释一下", "input": "", "output": "原文是：" + PASSAGE[40:200]}
    src = tmp_path / "sft.json"
    src.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "sft"
    proc = run_cli("build", "sft", src, "--out", out, "--benchmarks", str(bench_dir))
    assert "books balance: in 8 = kept 6 + rejected 2" in proc.stdout
    rejected = [json.loads(line) for line in open(out / "rejected.jsonl", encoding="utf-8")]
    assert [(r["where"].rsplit("[", 1)[-1], r["reason"]) for r in rejected] == [("3]", "contaminated"), ("6]", "contaminated")]
    assert rejected[0]["record"]["matches"][0]["item_id"] == "chemistry_val/0"
    assert rejected[1]["record"]["matches"][0]["item_id"] == "gaokao_reading/3"
    card = json.loads((out / "stats.json").read_text())
    assert card["books"]["rejected"] == {"contaminated": 2} and card["books"]["balanced"]
    import datasets

    ds = datasets.load_from_disk(str(out))
    rows = ds["train"] if isinstance(ds, datasets.DatasetDict) else ds
    assert len(rows) == 6


def test_items_too_short_are_not_indexed(tmp_path):
    meta = DecontIndex.build([Item("b", "1", "下列说法正确的是"), Item("b", "2", SHORT + "？")], tmp_path / "i")
    assert meta["items"] == 1 and meta["items_too_short"] == 1
    index = DecontIndex(tmp_path / "i")
    assert index.find("题目：下列说法正确的是") == []
