"""Issue 25.4: metadata survives `jinglian export` (JSONL and Parquet) and a further jinglian step.

Before: `export --format parquet` wrote `metadata` as JSON text (datasets typed the column Json)
and DocumentReader threw non-dict metadata away, so url and scores vanished on the next step.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jinglian.corpus.readers import DocumentReader, InputError

DOCS = [
    {"id": "a", "text": "今年秋粮收购工作已全面展开，各地合理布设收购网点。", "metadata": {
        "url": "http://news.example.cn/a.html", "lang": "zh", "lang_score": 0.93,
        "extract_scores": {"readability": 0.8, "trafilatura": 0.7}, "pii": {"email": 0}}},
    {"id": "b", "text": "粮食部门开通服务热线，及时受理农民反映的问题。", "metadata": {
        "url": "http://news.example.cn/b.html", "lang": "zh", "quality_score": 0.61}},
]


def _write_jsonl(path, docs):
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt,name", [("parquet", "corpus.parquet"), ("jsonl", "corpus.jsonl")])
def test_export_then_dedup_keeps_url_and_scores(cli, read_docs, tmp_path, fmt, name):
    src = _write_jsonl(tmp_path / "docs.jsonl", DOCS)
    cli("export", src, "--out", tmp_path / "exp", "--format", fmt)
    cli("dedup", tmp_path / "exp" / name, "--out", tmp_path / "dd", "--workers", "1")
    back = {d["id"]: d["metadata"] for d in read_docs(tmp_path / "dd" / "documents")}
    for doc in DOCS:
        for key, value in doc["metadata"].items():
            assert back[doc["id"]][key] == value, (fmt, doc["id"], key)
    if fmt == "parquet":  # a struct column, as other Parquet readers expect, not JSON text
        table = pq.read_table(tmp_path / "exp" / name)
        assert pa.types.is_struct(table.schema.field("metadata").type)
        assert table.to_pylist()[0]["metadata"]["url"] == "http://news.example.cn/a.html"


def test_reader_parses_metadata_written_as_json_text_and_names_bad_metadata(tmp_path):
    table = pa.table({"id": ["a"], "text": ["正文"], "metadata": [json.dumps(DOCS[0]["metadata"])]})
    pq.write_table(table, tmp_path / "old.parquet")
    (doc,) = DocumentReader([str(tmp_path / "old.parquet")]).run()
    assert doc.metadata["url"] == DOCS[0]["metadata"]["url"] and doc.metadata["extract_scores"]["readability"] == 0.8
    bad = _write_jsonl(tmp_path / "bad.jsonl", [{"text": "正文", "metadata": [1, 2]}])
    with pytest.raises(InputError, match=r"bad.jsonl:1: field 'metadata': expected an object, got list"):
        list(DocumentReader([str(bad)]).run())
