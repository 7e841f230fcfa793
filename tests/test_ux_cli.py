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


def test_papercuts(cli, tmp_path):
    """Issue 24 item 10: JSON errors say "at" once; documents keep their source file and line;
    sft_data --records takes any file names; tokenizer train --out says what it writes."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "好好学习，天天向上。"}\n{"text": "a\tb"}\n', encoding="utf-8")  # a raw tab inside a JSON string
    proc = cli("curate", bad, "--out", tmp_path / "out", "--no-dedup", check=False)
    assert proc.returncode == 2 and "Invalid control character at column" in proc.stderr and "at at" not in proc.stderr

    from jinglian.corpus.readers import DocumentReader

    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "第一篇"}\n\n{"text": "第二篇", "metadata": {"source_file": "crawl.warc.gz"}}\n', encoding="utf-8")
    docs = list(DocumentReader([str(good)]).run())
    assert [(d.metadata["source_file"], d.metadata["source_line"]) for d in docs] == [(str(good), 1), ("crawl.warc.gz", 3)]

    from jinglian.formats.samples import write_samples
    from jinglian.pipelines.sft_data import split_records

    paths = write_samples(tmp_path / "records")
    renamed = tmp_path / "mine"
    renamed.mkdir()
    for kind, path in paths.items():
        path.rename(renamed / f"my_{kind}{''.join(path.suffixes)}")
    single, dialogues = split_records(renamed)
    assert [p.split("/")[-1] for p in single] == ["my_alpaca.json"]
    assert sorted(p.split("/")[-1] for p in dialogues) == ["my_messages.jsonl", "my_sharegpt.jsonl"]

    help_text = " ".join(cli("tokenizer", "train", "--help").stdout.split())
    assert "tokenizer.json" in help_text and "save_to_disk" not in help_text


def test_summary_tables_fold_long_names_in_80_columns(tmp_path):
    """An 80-column terminal showed "blank_user_tu…": a name cut short names nothing."""
    import os
    import subprocess
    import sys

    records = tmp_path / "dialogues.jsonl"
    records.write_text(json.dumps({"messages": [{"role": "user", "content": " "}, {"role": "assistant", "content": "好的。"},
                                                {"role": "user", "content": "再说一遍"}, {"role": "assistant", "content": "好的。"}]},
                                  ensure_ascii=False) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "jinglian.cli", "build", "multiturn", str(records), "--out", str(tmp_path / "mt")],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout and "blank_user_turn" in "".join(
        part.strip(" │┃") for line in proc.stdout.splitlines() for part in line.split("│"))


def test_training_says_where_it_resumes_and_prints_no_library_noise(cli, tmp_path, monkeypatch):
    """Every run printed the same three library warnings (pin_memory, gradient_checkpointing's
    rename, DeepSpeed's accelerator guess); a resumed run never said which checkpoint."""
    from pathlib import Path

    from jinglian.train.toy import build_toy

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    build_toy(tmp_path / "demo-out" / "toy")
    config = Path(__file__).resolve().parents[1] / "pipelines" / "train_sft.yaml"
    toy = tmp_path / "demo-out" / "toy"
    tiny = ["model.path=", f"model.tokenizer={toy / 'tokenizer'}", f"data.train={toy / 'sft'}", "logging_steps=1", "save_steps=1",
            'model.config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}']
    first = cli("train", "sft", "--config", config, "max_steps=1", *tiny, cwd=tmp_path)
    for noise in ("pin_memory", "gradient_checkpointing` is deprecated", "Setting accelerator to CPU"):
        assert noise not in first.stderr + first.stdout, noise
    again = cli("train", "sft", "--config", config, "max_steps=2", "resume_from_checkpoint=last", *tiny, cwd=tmp_path)
    assert "resuming from demo-out/train/sft/checkpoint-1" in again.stdout.replace("\n", "")
