"""Issue 25.6 and the prompt parts of 25.14: ranked preference records and RL prompts as a user
builds them with `jinglian build preference|prompts`."""

from __future__ import annotations

import json

from datasets import load_from_disk

from jinglian.formats.collect import collect
from jinglian.formats.preference import parse_preference


def _write(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rejected(out) -> list[dict]:
    return [json.loads(line) for line in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]


def _pairs(out) -> set[tuple[str, str]]:
    ds = load_from_disk(str(out))["train"]
    return {(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in ds}


def test_a_repeated_response_at_two_ranks_is_rejected_not_turned_into_contradictory_pairs(cli, tmp_path):
    src = _write(tmp_path / "ranked.jsonl", [
        json.dumps({"prompt": "问题一", "responses": ["答案A", "答案B", "答案A"]}, ensure_ascii=False),
        json.dumps({"prompt": "问题二", "responses": ["答案C", "答案D"]}, ensure_ascii=False),
        json.dumps({"prompt": "问题三", "responses": ["答案E", "答案F", "答案E"], "scores": [2, 1, 2]}, ensure_ascii=False),
    ])
    out = tmp_path / "pref"
    proc = cli("build", "preference", src, "--out", out, "--on-error", "skip")
    assert proc.returncode == 0
    assert _pairs(out) == {("答案C", "答案D"), ("答案E", "答案F")}  # equal scores: one response, no contradiction
    (bad,) = _rejected(out)
    assert bad["where"] == f"{src}:1" and bad["reason"] == "contradictory_ranking"
    assert "responses[2]" in bad["detail"]


def test_nan_and_boolean_scores_stop_the_build_with_file_line_and_field(cli, tmp_path):
    src = _write(tmp_path / "bad.jsonl", [
        '{"prompt": "好", "chosen": "甲", "rejected": "乙"}',
        '{"prompt": "问", "responses": ["甲", "乙", "丙"], "scores": [NaN, 2, 1]}',
    ])
    proc = cli("build", "preference", src, "--out", tmp_path / "o", check=False)
    assert proc.returncode == 2 and f"{src}:2: field 'scores[0]': nan is not a finite number" in proc.stderr
    for line, field in [
        ('{"prompt": "问", "responses": ["甲", "乙"], "scores": [true, false]}', "scores[0]"),
        ('{"prompt": "问", "responses": ["甲", "乙"], "scores": [1, Infinity]}', "scores[1]"),
        ('{"prompt": "问", "chosen": "甲", "rejected": "乙", "margin": NaN}', "margin"),
    ]:
        src = _write(tmp_path / "bad.jsonl", [line])
        _, rejects, _ = collect([str(src)], parse_preference, "skip")
        assert rejects[0].where == f"{src}:1" and rejects[0].detail.startswith(f"field '{field}'"), line


def test_a_blank_final_user_turn_is_not_an_rl_prompt(cli, tmp_path):
    src = _write(tmp_path / "dialogues.jsonl", [
        json.dumps({"messages": [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"},
                                 {"role": "user", "content": "  "}]}, ensure_ascii=False),
        json.dumps({"prompt": "写一首关于春天的诗。"}, ensure_ascii=False),
    ])
    out = tmp_path / "rl"
    cli("build", "prompts", src, "--out", out)
    ds = load_from_disk(str(out))["train"]
    assert [r["prompt"][-1]["content"] for r in ds] == ["写一首关于春天的诗。"]
    (bad,) = _rejected(out)
    assert bad["where"] == f"{src}:1" and bad["reason"] == "blank_prompt"


def test_prompt_dedup_keeps_the_reference_of_a_duplicate(cli, tmp_path):
    src = _write(tmp_path / "prompts.jsonl", [
        json.dumps({"prompt": "1+1等于几？"}, ensure_ascii=False),
        json.dumps({"prompt": "1+1等于几？", "reference": "2"}, ensure_ascii=False),
    ])
    out = tmp_path / "rl"
    cli("build", "prompts", src, "--out", out)
    ds = load_from_disk(str(out))["train"]
    assert [(r["prompt"][-1]["content"], r["reference"]) for r in ds] == [("1+1等于几？", "2")]
