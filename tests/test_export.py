"""`jinglian export`: curated documents become a Hugging Face dataset (or Parquet / JSONL)."""

import json


def test_export_curated_documents_as_hf_dataset(cli, sample_jsonl, tmp_path):
    from datasets import load_from_disk

    cli("curate", sample_jsonl, "--out", tmp_path / "cur", "--profile", "none", "--no-dedup")
    cli("export", tmp_path / "cur" / "documents", "--out", tmp_path / "hf")
    ds = load_from_disk(str(tmp_path / "hf"))
    assert ds.num_rows == 120 and {"id", "text", "metadata"} <= set(ds.column_names)
    assert ds[0]["metadata"]["script"] in ("hans", "hant")
    assert "120" in (tmp_path / "hf" / "README.md").read_text(encoding="utf-8")
    cli("export", tmp_path / "cur" / "documents", "--out", tmp_path / "jl", "--format", "jsonl")
    rows = [json.loads(line) for line in (tmp_path / "jl" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(ds["id"])


def test_export_errors(cli, tmp_path):
    (tmp_path / "a.jsonl").write_text('{"body": "x"}\n', encoding="utf-8")
    proc = cli("export", tmp_path / "a.jsonl", "--out", tmp_path / "o", check=False)
    assert proc.returncode == 2 and "field 'text': no such column" in proc.stderr
    proc = cli("export", tmp_path / "a.jsonl", "--out", tmp_path / "o", "--format", "csv", check=False)
    assert proc.returncode == 2 and "unknown format 'csv'" in proc.stderr
