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
    assert sections == ["crawl", "extraction", "funnel", "cleaning", "documents", "dedup", "datasets", "training", "contamination"]
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


def test_report_shows_which_extractor_won_and_what_line_cleaning_removed(tmp_path):
    from jinglian.report import write_report

    def doc(i, extractor, kind, removed, share, **extra):
        meta = {"extractor": extractor, "page_kind": kind, "lines_removed": removed, "chars_removed_share": share}
        return json.dumps({"id": str(i), "text": "正文", "metadata": meta | extra}, ensure_ascii=False)

    (tmp_path / "documents").mkdir()
    (tmp_path / "rejected").mkdir()
    (tmp_path / "documents" / "00000.jsonl").write_text("\n".join(
        [doc(0, "readability", "article", 3, 0.2), doc(1, "readability", "article", 0, 0.0),
         doc(2, "resiliparse", "forum", 5, 0.4)]), encoding="utf-8")
    (tmp_path / "rejected" / "00000.jsonl").write_text("\n".join(
        [doc(3, "trafilatura", "list", 9, 0.9, rejected_by="lines", reject_reason="max_chars_removed_share"),
         doc(4, "readability", "article", 1, 0.1, rejected_by="heuristics", reject_reason="min_han_chars")]),
        encoding="utf-8")
    text = write_report(tmp_path).read_text(encoding="utf-8")
    assert "<td>readability</td><td>3</td><td>60%</td><td>2</td><td>1</td>" in text
    assert "<td>list / trafilatura</td><td>1</td>" in text
    assert "5 documents reached line cleaning; 4 had lines removed, 18 lines in all" in text
    assert "<td>max_chars_removed_share</td><td>1</td>" in text
    assert "<td>min_han_chars</td>" not in text.split('id="cleaning"')[1].split("</section>")[0]


def test_report_plots_ppo_health_keys(tmp_path):
    from jinglian.report import write_report

    (tmp_path / "ppo").mkdir()
    (tmp_path / "ppo" / "log.jsonl").write_text("\n".join(
        json.dumps({"step": i, "score": 0.1 * i, "kl": 0.5, "approxkl": 0.01, "clipfrac": 0.02, "eos_fraction": 0.1 * i,
                    "response_length": 40 - i})
        for i in range(4)))
    text = write_report(tmp_path).read_text(encoding="utf-8")
    for key in ("score", "kl", "approxkl", "clipfrac", "eos_fraction", "response_length"):
        assert f"<td>{key}</td>" in text
