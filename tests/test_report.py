"""`jinglian report`: the HTML report loads in a real headless Chromium without console errors."""

import json
from collections import Counter


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
    assert sections == ["funnel", "cleaning", "documents", "dedup"]  # only what this run holds
    assert (run / "report.png").stat().st_size > 10_000


def screenshot_at(page_path, chromium, png, width=1280) -> int:
    """A full-page screenshot at ``width`` px in headless Chromium; the page's scroll width."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(page_path.as_uri())
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(png), full_page=True)
        browser.close()
    return scroll_width


def test_report_fits_a_1280_px_page(tmp_path, chromium):
    """Many training curves used to sit in one row wider than the page (cut off at 1280 px)."""
    from jinglian.report import write_report

    (tmp_path / "ppo").mkdir()
    keys = ["loss", "score", "kl", "approxkl", "clipfrac", "eos_fraction", "response_length", "entropy", "reward"]
    (tmp_path / "ppo" / "log.jsonl").write_text("\n".join(json.dumps({"step": i, **{k: i * 0.1 for k in keys}}) for i in range(5)))
    page = write_report(tmp_path)
    assert screenshot_at(page, chromium, tmp_path / "report.png") <= 1280


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


# --- issue 24 items 1, 2 and issue 25 item 11 -----------------------------------------------------

def _state(steps: int, loss0: float) -> str:
    return json.dumps({"log_history": [{"step": 10 * (i + 1), "loss": loss0 - 0.1 * i} for i in range(steps)]})


def test_report_plots_the_last_checkpoint_and_the_eval_metrics(tmp_path):
    from jinglian.report import write_report

    run = tmp_path / "train" / "pretrain"
    for step, points in ((20, 2), (40, 4), (100, 10)):  # alphabetically checkpoint-100 < checkpoint-20 < checkpoint-40
        (run / f"checkpoint-{step}").mkdir(parents=True)
        (run / f"checkpoint-{step}" / "trainer_state.json").write_text(_state(points, 3.0))
    (run / "jinglian_summary.json").write_text(json.dumps(
        {"stage": "pretrain", "eval_loss": 1.5, "eval_perplexity": 4.4817, "train_runtime": 12.0, "params": 1000}))
    rm = tmp_path / "train" / "rm"
    rm.mkdir()
    (rm / "jinglian_summary.json").write_text(json.dumps({"stage": "rm", "pairwise_accuracy": 0.8125, "eval_accuracy": 0.75}))
    text = write_report(tmp_path).read_text(encoding="utf-8")
    training = text.split('id="training"')[1]
    assert "<td>loss</td><td>2.1</td><td>10</td>" in training  # checkpoint-100's 10 points, not checkpoint-20's 2
    assert "curves from train/pretrain/checkpoint-100/trainer_state.json" in training
    assert "<td>eval_perplexity</td><td>4.4817</td>" in training
    assert "<td>pairwise_accuracy</td><td>0.8125</td>" in training and "train/rm" in training


def _write_docs(folder, docs):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "00000.jsonl").write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), encoding="utf-8")


def test_report_gives_examples_per_drop_reason_thresholds_and_only_sections_with_data(tmp_path):
    from jinglian.corpus.stats import RunBooks, StepBooks
    from jinglian.report import write_report

    kept = [{"id": str(i), "text": "正文" * (50 + i), "metadata": {"han_ratio_non_english": 0.8 + i / 100, "duplicate_of": None}}
            for i in range(6)]
    dropped = [{"id": f"r{i}", "text": f"广告{i}！" + "买买买" * 60,
                "metadata": {"han_ratio_non_english": 0.1 + i / 100, "rejected_by": "heuristics", "reject_reason": "min_han_ratio_non_english",
                             "reject_value": 0.1 + i / 100}} for i in range(5)]
    dropped.append({"id": "d0", "text": "重复的文章" * 10, "metadata": {"rejected_by": "dedup", "reject_reason": "exact_duplicate",
                                                                   "reject_value": 1.0, "duplicate_of": "0", "dedup_jaccard": 1.0}})
    _write_docs(tmp_path / "documents", kept)
    _write_docs(tmp_path / "rejected" / "heuristics", dropped[:5])
    _write_docs(tmp_path / "rejected" / "dedup", dropped[5:])
    RunBooks([StepBooks("read", 12, 12), StepBooks("heuristics", 12, 7, Counter({"min_han_ratio_non_english": 5})),
              StepBooks("dedup", 7, 6, Counter({"exact_duplicate": 1}))]).save(tmp_path / "stats.json")
    text = write_report(tmp_path).read_text(encoding="utf-8")
    funnel = text.split('id="funnel"')[1].split("</section>")[0]
    # each reason with its first examples: the rule's value and the document's first characters
    assert "<code>0.1</code> 广告0！买买买" in funnel and "<code>0.12</code> 广告2！" in funnel and "广告3" not in funnel
    assert "<code>1</code> 重复的文章" in funnel
    # the profile's threshold on the histogram (zh-web: min_han_ratio_non_english), the dropped documents in red
    assert 'alt="histogram of han_ratio_non_english (min_han_ratio_non_english 0.3)"' in text
    assert "red: 6 documents this stage dropped" in text
    dedup = text.split('id="dedup"')[1].split("</section>")[0]
    assert "<td>2</td><td>1</td><td>2</td>" in dedup  # one cluster of 2 as a table row, not a one-bar histogram
    sections = [part.split('"')[0] for part in text.split('<section id="')[1:]]
    assert sections == ["funnel", "documents", "dedup"]  # no crawl, extraction, datasets or training here
    assert "No crawl" not in text and 'href="#crawl"' not in text


def test_report_escapes_what_stats_json_says(tmp_path):
    from jinglian.report import write_report

    attack = '<img src=x onerror="alert(1)">'
    (tmp_path / "stats.json").write_text(json.dumps({"in": attack, "kept": attack, "dropped": {}, "balanced": True,
                                                     "steps": [{"step": "read", "in": 1, "kept": 1, "dropped": {}}]}))
    text = write_report(tmp_path).read_text(encoding="utf-8")
    assert attack not in text and "&lt;img src=x onerror=" in text


def test_report_reads_parquet_a_batch_at_a_time_up_to_the_cap(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from jinglian import report

    monkeypatch.setattr(report, "MAX_DOCS_PER_FOLDER", 1500)
    folder = tmp_path / "documents"
    folder.mkdir()
    path = folder / "00000.parquet"
    texts = [f"文档{i}：{i * 7919 % 10007}" * 5 for i in range(6000)]
    pq.write_table(pa.table({"id": [str(i) for i in range(6000)], "text": texts}), path, row_group_size=1000, use_dictionary=False)
    # break the last row group: a reader that loads the whole file fails, one that stops at the cap never reads it
    meta = pq.ParquetFile(path).metadata.row_group(5).column(1)
    with open(path, "r+b") as f:
        f.seek(meta.data_page_offset + 8)
        f.write(b"\xff" * (meta.total_compressed_size - 16))
    docs = list(report._read_documents(folder))
    assert len(docs) == 1500 and docs[-1]["text"] == texts[1499]
