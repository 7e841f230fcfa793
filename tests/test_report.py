"""`jinglian report`: the HTML report loads in a real headless Chromium without console errors."""

import json


def test_report_of_a_curate_run(cli, sample_jsonl, tmp_path, open_in_browser):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "好"}\n{"oops": 1}\n', encoding="utf-8")
    run = tmp_path / "run"
    cli("curate", sample_jsonl, bad, "--out", run, "--on-error", "skip")
    proc = cli("report", run)
    page = run / "report.html"
    assert str(page) in proc.stdout.replace("\n", "")
    text = page.read_text(encoding="utf-8")
    assert "books balance" in text and "read/missing_text" in text
    assert "src=\"http" not in text  # self-contained: nothing to fetch

    errors, sections = open_in_browser(page, run / "report.png")
    assert errors == []
    assert sections == ["crawl", "funnel", "documents", "dedup", "datasets", "training"]
    assert (run / "report.png").stat().st_size > 10_000


def test_report_reads_training_logs_and_datasets(tmp_path):
    from datasets import Dataset

    from jinglian.report import write_report

    Dataset.from_dict({"prompt": ["问：你好"], "completion": ["答：你好！"]}).save_to_disk(str(tmp_path / "sft"))
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "metrics.jsonl").write_text(
        "\n".join(json.dumps({"step": i, "loss": 3.0 - i * 0.1, "reward": i * 0.05}) for i in range(10)))
    text = write_report(tmp_path).read_text(encoding="utf-8")
    assert "prompt, completion" in text
    assert "<td>loss</td><td>2.1</td><td>10</td>" in text
    assert "<td>reward</td><td>0.45</td><td>10</td>" in text


def test_report_of_a_missing_folder(cli, tmp_path):
    proc = cli("report", tmp_path / "nope", check=False)
    assert proc.returncode == 2 and "no such folder" in proc.stderr
