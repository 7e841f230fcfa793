"""`jinglian quickstart` (what `make demo` runs): the whole path, end to end, on CPU."""

import json


def test_quickstart_runs_the_whole_path_and_writes_the_report(cli, tmp_path, open_in_browser):
    out = tmp_path / "demo"
    proc = cli("quickstart", "--out", out)
    assert "jinglian quickstart:" in proc.stdout  # the closing summary table
    for corpus in ("corpus", "sample/curated"):
        books = json.loads((out / corpus / "stats.json").read_text())
        assert books["balanced"] and books["kept"] > 0
    web = json.loads((out / "corpus" / "stats.json").read_text())
    assert [s["step"] for s in web["steps"]][:3] == ["read_web", "extract", "normalize"]
    assert (out / "corpus" / "hf" / "dataset_info.json").exists()
    assert (out / "tokenizer" / "tokenizer.json").exists()
    for name in ("pretrain", "sft", "multiturn", "preference", "prompts"):
        assert (out / "data" / name / "dataset_dict.json").exists(), name
    summaries = {s: json.loads((out / "train" / s / "jinglian_summary.json").read_text()) for s in ("pretrain", "sft", "rm", "ppo")}
    for stage in ("pretrain", "sft", "rm"):
        curve = summaries[stage]["loss_curve"]
        assert curve[-1] < curve[0], stage  # every stage learned something
    assert summaries["ppo"]["steps"] > 0

    errors, sections = open_in_browser(out / "report.html", out / "report.png")
    assert errors == []
    assert sections == ["crawl", "extraction", "funnel", "cleaning", "documents", "dedup", "datasets", "training"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "No training logs" not in page and "No Hugging Face datasets" not in page
    assert "No extracted pages" not in page and "No line cleaning" not in page
