"""What a new user trips over on the command line (issue 24 items 3, 4, 6, 7, 10), each as the user runs it."""

from __future__ import annotations

import gzip
import json


def test_a_folder_of_html_pages_is_web_input(cli, tmp_path):
    """`jinglian curate pages/ --out cc` used to refuse the folder ("no .jsonl/... files")."""
    from jinglian.corpus.crawl.sample_site import _article_body, _page

    pages = tmp_path / "pages"
    pages.mkdir()
    for i in range(3):
        (pages / f"{i}.html").write_text(_page(f"第{i}篇", _article_body(i)), encoding="utf-8")
    proc = cli("curate", pages, "--out", tmp_path / "cc", "--no-dedup")
    assert "extract" in proc.stdout and "books balance: in 3" in proc.stdout


def test_a_folder_of_web_pages_read_as_documents_says_use_from_web(cli, tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.warc.gz").write_bytes(b"")
    proc = cli("curate", pages, "--out", tmp_path / "cc", "--from", "documents", check=False)
    assert proc.returncode == 2 and "use --from web" in proc.stderr


def test_a_truncated_gzip_is_one_line_naming_the_file(cli, tmp_path):
    """Used to print "Aborted." and exit 1, in both --on-error modes (the cause sat in a task log)."""
    from jinglian.corpus.sample import sample_documents

    whole = gzip.compress("\n".join(json.dumps(d, ensure_ascii=False) for d in sample_documents(200, seed=1)).encode())
    path = tmp_path / "docs.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    for extra in ([], ["--on-error", "skip"]):
        proc = cli("curate", path, "--out", tmp_path / f"out{len(extra)}", *extra, check=False)
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and f"{path}: truncated or corrupt compressed file after line" in lines[0]


def test_build_sft_writes_dropped_samples_to_rejected_jsonl(cli, tmp_path):
    """`build sft` counted `too_long` and `duplicate` drops but wrote none of them to rejected.jsonl."""
    from jinglian.formats.samples import train_demo_tokenizer

    tok_dir = tmp_path / "tok"
    train_demo_tokenizer(tok_dir)
    records = [{"instruction": "你好", "output": "你好！"}, {"instruction": "你好", "output": "你好！"},
               {"instruction": "写一首诗", "output": "春眠不觉晓，处处闻啼鸟。" * 30}]
    path = tmp_path / "sft.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "sft"
    proc = cli("build", "sft", path, "--out", out, "--tokenizer", tok_dir, "--max-length", "64")
    assert "duplicate: 1" in proc.stdout and "too_long: 1" in proc.stdout
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    by_reason = {r["reason"]: r for r in rejected}
    assert sorted(by_reason) == ["duplicate", "too_long"]
    assert by_reason["duplicate"]["where"] == f"{path}[1]" and f"{path}[0]" in by_reason["duplicate"]["detail"]
    assert by_reason["too_long"]["where"] == f"{path}[2]" and "over --max-length 64" in by_reason["too_long"]["detail"]
    assert by_reason["too_long"]["record"]["messages"][0] == {"role": "user", "content": "写一首诗"}
