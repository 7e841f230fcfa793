"""`jinglian curate` end to end: formats in and out, the books, and every kind of bad input."""

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

BASIC = ("--profile", "none", "--no-dedup")  # the foundation's pipeline: read -> normalize -> write


def _write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_curate_sample_corpus_balances_and_normalizes(cli, sample_jsonl, read_docs, tmp_path):
    out = tmp_path / "out"
    proc = cli("curate", sample_jsonl, "--out", out, "--workers", "1", *BASIC)
    assert "books balance" in proc.stdout
    docs = read_docs(out / "documents")
    assert len(docs) == 120
    assert set(docs[0]) == {"id", "text", "metadata"}  # datatrove's document layout
    stats = json.loads((out / "stats.json").read_text())
    assert stats["balanced"] and stats["in"] == stats["kept"] == 120
    traditional = [d for d in docs if d["metadata"]["variant"] == "traditional"]
    assert traditional and all(d["metadata"]["script"] == "hant" for d in traditional)
    assert not any("\u200b" in d["text"] or "\u3000" in d["text"] for d in docs)


def test_skipped_bad_records_go_to_rejected_and_books_balance(cli, read_docs, tmp_path):
    good = json.dumps({"text": "今天天气很好，我们去公园散步。"}, ensure_ascii=False).encode()
    lines = [
        good,
        b'{"text": "broken',  # malformed JSON
        json.dumps({"title": "no text"}).encode(),  # no text field
        b'{"text": "\xe5\x9d\xff"}',  # invalid UTF-8
        json.dumps({"text": 42}).encode(),  # text is not a string
        json.dumps({"text": "\u200b\u3000"}).encode(),  # nothing left after normalization
        json.dumps(["a", "list"]).encode(),  # not an object
        good,
    ]
    src = _write_lines(tmp_path / "mixed.jsonl", lines)
    out = tmp_path / "out"
    cli("curate", src, "--out", out, "--on-error", "skip", *BASIC)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["in"] == 8 and stats["kept"] == 2 and stats["balanced"]
    assert stats["dropped"] == {
        "read/malformed_json": 1,
        "read/missing_text": 1,
        "read/invalid_utf8": 1,
        "read/text_not_string": 1,
        "read/not_an_object": 1,
        "normalize/empty_after_normalize": 1,
    }
    rejected = read_docs(out / "rejected")
    assert len(rejected) == 6
    by_reason = {r["metadata"]["reject_reason"]: r for r in rejected}
    assert by_reason["malformed_json"]["metadata"]["source_line"] == 2
    assert by_reason["malformed_json"]["text"] == '{"text": "broken'
    assert by_reason["missing_text"]["metadata"]["error"] == "field 'text': missing"


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'{"text": "ok"}\n{"text": "broken\n', "bad.jsonl:2: malformed JSON"),
        (b'{"text": "ok"}\n{"body": "x"}\n', "bad.jsonl:2: field 'text': missing"),
        (b'{"text": "ok"}\n{"text": "\xff\xfe"}\n', "bad.jsonl:2: invalid UTF-8"),
        (b"", "bad.jsonl: file is empty"),
    ],
)
def test_bad_input_fails_with_one_line_naming_file_and_line(cli, tmp_path, content, expected):
    src = tmp_path / "bad.jsonl"
    src.write_bytes(content)
    proc = cli("curate", src, "--out", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_input_path(cli, tmp_path):
    proc = cli("curate", tmp_path / "nope.jsonl", "--out", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "nope.jsonl: no such file or folder" in proc.stderr


def test_parquet_with_wrong_schema(cli, tmp_path):
    src = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"content": ["你好"]}), src)
    proc = cli("curate", src, "--out", tmp_path / "out", check=False)
    assert proc.returncode == 2
    assert "wrong.parquet: field 'text': no such column (columns: content)" in proc.stderr
    cli("curate", src, "--out", tmp_path / "skip", "--on-error", "skip")
    stats = json.loads((tmp_path / "skip" / "stats.json").read_text())
    assert stats["dropped"] == {"read/wrong_schema": 1} and stats["balanced"]


def test_parquet_in_parquet_out(cli, tmp_path):
    src = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["ＡＩ技術發展很快。", "第二篇文章。"], "url": ["u1", "u2"]}), src)
    out = tmp_path / "out"
    cli("curate", src, "--out", out, "--format", "parquet", *BASIC)
    rows = pq.read_table(next((out / "documents").glob("*.parquet"))).to_pylist()
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["text"] == "AI技术发展很快。"
    assert rows[0]["metadata"]["url"] == "u1"


def test_datatrove_jsonl_gz_keeps_metadata(cli, read_docs, tmp_path):
    src = tmp_path / "dt.jsonl.gz"
    with gzip.open(src, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "d1", "text": "正文。", "metadata": {"url": "http://x"}}, ensure_ascii=False) + "\n")
    out = tmp_path / "out"
    cli("curate", src, "--out", out, *BASIC)
    (doc,) = read_docs(out / "documents")
    assert doc["id"] == "d1" and doc["metadata"]["url"] == "http://x"


def test_txt_file_and_paragraph_modes(cli, read_docs, tmp_path):
    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "a.txt").write_text("第一段。\n还是第一段。\n\n第二段。\n\n\n第三段。\n", encoding="utf-8")
    (folder / "b.txt").write_text("另一个文件。", encoding="utf-8")
    cli("curate", folder, "--out", tmp_path / "files", "--txt-mode", "file", *BASIC)
    assert len(read_docs(tmp_path / "files" / "documents")) == 2
    cli("curate", folder, "--out", tmp_path / "paras", "--txt-mode", "paragraph", *BASIC)
    texts = sorted(d["text"] for d in read_docs(tmp_path / "paras" / "documents"))
    assert texts == sorted(["第一段。\n还是第一段。", "第二段。", "第三段。", "另一个文件。"])


def test_invalid_utf8_txt_names_the_line(cli, tmp_path):
    src = tmp_path / "gbk.txt"
    src.write_bytes("第一行\n".encode() + "第二行是GBK".encode("gbk"))
    proc = cli("curate", src, "--out", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "gbk.txt:2: invalid UTF-8" in proc.stderr


def test_parallel_workers_give_the_same_documents(cli, read_docs, tmp_path):
    from jinglian.corpus.sample import write_sample_jsonl

    inputs = [write_sample_jsonl(tmp_path / f"in{i}.jsonl", n=40, seed=i) for i in range(4)]
    cli("curate", *inputs, "--out", tmp_path / "w1", "--workers", "1")
    cli("curate", *inputs, "--out", tmp_path / "w2", "--workers", "2")
    one = sorted((d["id"], d["text"]) for d in read_docs(tmp_path / "w1" / "documents"))
    two = sorted((d["id"], d["text"]) for d in read_docs(tmp_path / "w2" / "documents"))
    assert one == two and 0 < len(one) < 160  # filters and dedup removed some, the same ones


def test_default_curate_filters_and_dedups_with_books_chained(cli, read_docs, tmp_path):
    from jinglian.corpus.sample import sample_documents

    docs = sample_documents(60, seed=3)
    rows = docs + [dict(docs[0], id="copy-of-0"), dict(docs[1], id="copy-of-1")]  # planted exact copies
    rows.append({"id": "spam", "text": "澳门赌场在线投注，首充送彩金，加微信 abc123 立即领取！" * 20})
    src = tmp_path / "mixed.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    cli("curate", src, "--out", out, "--workers", "2")
    stats = json.loads((out / "stats.json").read_text())
    assert [s["step"] for s in stats["steps"]][:2] == ["read", "normalize"]
    assert stats["steps"][-1]["step"] == "dedup"
    assert stats["balanced"] and stats["in"] == len(rows)
    kept_ids = {d["id"] for d in read_docs(out / "documents")}
    assert len(kept_ids) == stats["kept"]
    assert "spam" not in kept_ids and "copy-of-0" not in kept_ids and "copy-of-1" not in kept_ids
    rejected = {d["id"]: d["metadata"] for d in read_docs(out / "rejected")}
    assert rejected["copy-of-0"]["reject_reason"] == "exact_duplicate"
    assert rejected["spam"]["rejected_by"] not in ("read", "normalize", "dedup")  # a filter caught it
    assert len(rejected) == stats["in"] - stats["kept"]
