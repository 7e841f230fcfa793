"""The fastText quality model: train (jieba vs characters, by measurement), score, filter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datatrove.data import Document

from jinglian.corpus.filters import filter_steps
from jinglian.corpus.quality.classifier import QualityScorer, segment, train_quality_model
from jinglian.corpus.sample import clean_web_documents, dirty_documents, sample_documents


def good_texts(n: int, seed: int) -> list[str]:
    docs = clean_web_documents(n // 2, seed=seed) + sample_documents(n - n // 2, seed=seed)
    return [d["text"] for d in docs]


def bad_texts(n: int, seed: int) -> list[str]:
    return [d["text"] for d in dirty_documents(n, seed=seed)]


def write_jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("quality") / "quality.bin"
    train_quality_model(good_texts(160, 0), bad_texts(165, 0), out, segmentation="auto", seed=0)
    return out


def test_segmentation_never_uses_whitespace_tokens():
    assert segment("人工智能技术\n得到了广泛应用", "char") == "人 工 智 能 技 术 得 到 了 广 泛 应 用"
    words = segment("人工智能技术得到了广泛应用", "jieba").split()
    assert words == ["人工智能", "技术", "得到", "了", "广泛应用"]
    with pytest.raises(ValueError, match="unknown segmentation"):
        segment("文本", "bpe")


def test_training_picks_a_segmentation_and_reports_held_out_metrics(model_path):
    sidecar = json.loads(Path(f"{model_path}.json").read_text())
    assert sidecar["segmentation"] in ("jieba", "char")
    assert set(sidecar["validation"]) == {"jieba", "char"}
    chosen = sidecar["validation"][sidecar["segmentation"]]["f1"]
    assert chosen == max(m["f1"] for m in sidecar["validation"].values())
    test = sidecar["test"]
    assert test["n"] >= 40 and test["precision"] >= 0.9 and test["recall"] >= 0.9


def test_scores_unseen_documents_the_right_way_round(model_path):
    scorer = QualityScorer(model_path)
    good = [scorer.score(t) for t in good_texts(40, 99)]
    bad = [scorer.score(t) for t in bad_texts(44, 99)]
    assert sum(good) / len(good) > 0.8 and sum(bad) / len(bad) < 0.2


def test_profile_threshold_drops_and_records_the_score(model_path, tmp_path):
    profile = tmp_path / "q.yaml"
    profile.write_text(f"quality_model:\n  path: {model_path.name}\n  min_score: 0.5\n", encoding="utf-8")
    (tmp_path / model_path.name).write_bytes(model_path.read_bytes())  # relative to the profile
    (tmp_path / f"{model_path.name}.json").write_bytes(Path(f"{model_path}.json").read_bytes())
    (step,) = filter_steps(profile)
    spam = Document(text=bad_texts(11, 7)[0], id="spam")
    reason, value = step.check(spam)
    assert reason == "min_quality_score" and value < 0.5 and spam.metadata["quality_score"] == value
    article = Document(text=good_texts(2, 7)[0], id="ok")
    assert step.check(article) is None and article.metadata["quality_score"] >= 0.5
    import pickle

    clone = pickle.loads(pickle.dumps(step))  # workers get the step without the loaded model
    assert "model" not in clone.__dict__ and clone.score(article.text) == pytest.approx(step.score(article.text))


def test_bad_training_input_and_missing_model_are_clear(tmp_path):
    with pytest.raises(ValueError, match="at least 20 negative"):
        train_quality_model(good_texts(40, 1), bad_texts(5, 1), tmp_path / "m.bin")
    with pytest.raises(FileNotFoundError, match="quality model not found"):
        QualityScorer(tmp_path / "missing.bin")
    lone = tmp_path / "lone.bin"
    lone.write_bytes(b"not a model")
    with pytest.raises(FileNotFoundError, match="lone.bin.json not found"):
        QualityScorer(lone)


def test_quality_cli_train_and_score(cli, read_docs, tmp_path):
    pos = write_jsonl(tmp_path / "pos.jsonl", good_texts(100, 3))
    neg = write_jsonl(tmp_path / "neg.jsonl", bad_texts(99, 3))
    model = tmp_path / "m.bin"
    proc = cli("quality", "train", "--pos", pos, "--neg", neg, "--out", model, "--segmentation", "char")
    assert "held-out test" in proc.stdout and "precision" in proc.stdout and model.is_file()
    mixed = write_jsonl(tmp_path / "mixed.jsonl", good_texts(6, 4) + bad_texts(6, 4))
    proc = cli("quality", "score", mixed, "--model", model, "--out", tmp_path / "scored", "--workers", "1")
    scored = read_docs(tmp_path / "scored" / "documents")
    assert len(scored) == 12  # nothing dropped
    scores = [d["metadata"]["quality_score"] for d in scored]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert min(scores[:6]) > max(scores[6:])
    proc = cli(
        "quality", "score", mixed, "--model", tmp_path / "nope.bin", "--out", tmp_path / "x", check=False
    )
    assert proc.returncode == 2 and "quality model not found" in proc.stderr
