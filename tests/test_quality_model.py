"""The learned 0-5 quality score: deterministic training, the card check, the zh-web step, labels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from datatrove.data import Document

from jinglian.corpus.filters import filter_steps
from jinglian.corpus.quality.model import (
    ModelError,
    QualityStep,
    default_model_dir,
    excerpt,
    load_model,
    read_labels,
    train_model,
)
from jinglian.corpus.sample import clean_web_documents, dirty_documents
from jinglian.corpus.stats import read_books

# A plain news-style article written for this test (about 330 Han characters, no brand).
ARTICLE = """城市公园改造工程完工 市民休闲有了新去处

经过一年多的施工，位于城东的滨河公园改造工程日前全部完工并向市民开放。改造后的公园新增了两条健身步道、一处儿童游乐区和三个休息亭，沿河的绿化带也重新种植了本地树种。
据市园林部门介绍，这次改造坚持“少拆多补”的原则，保留了公园里原有的大树和老桥，只对破损的路面、照明和排水设施进行了更新。为了方便老人和残障人士出行，公园的主要入口都改成了无障碍坡道。
不少附近居民一早就来到公园散步。家住附近的王女士说，以前下雨天河边的小路积水严重，现在路面平整了，晚上也有了路灯，带孩子来玩更放心了。
园林部门表示，下一步将根据市民的意见，在公园内增设更多座椅和公共厕所，并定期组织志愿者参与绿地的养护工作。"""


def labelled(tmp_path: Path, n: int = 60) -> Path:
    """Project-generated labels in the annotate / hplt layout: clean pages 4, dirty pages 0,
    plus one unparseable reply (score null) that training must skip."""
    rows = [{"text": d["text"], "score": 4, "kind": "none"} for d in clean_web_documents(n, seed=3)]
    rows += [{"text": d["text"], "score": 0, "kind": "gambling"} for d in dirty_documents(n, seed=3)]
    rows.append({"text": "回复无法解析", "score": None, "raw": "I think maybe 3?"})
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_training_is_deterministic_to_the_byte(tmp_path):
    labels = labelled(tmp_path)
    options = {"threshold": 1.5, "buckets": [2.0, 3.0], "fraction": 0.8, "bits": 14}
    cards = [train_model(labels, tmp_path / name, seed=7, **options) for name in ("a", "b")]
    for name in ("weights.npy", "card.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert cards[0]["training_data"]["skipped_null_score"] == 1 and cards[0]["training_data"]["used"] == 96
    train_model(labels, tmp_path / "c", seed=8, **options)  # another sample: other weights
    assert (tmp_path / "c" / "weights.npy").read_bytes() != (tmp_path / "a" / "weights.npy").read_bytes()
    model = load_model(tmp_path / "a")
    clean, dirty = clean_web_documents(10, seed=9), dirty_documents(10, seed=9)
    assert sum(model.score(d["text"]) for d in clean) > sum(model.score(d["text"]) for d in dirty)


def test_a_model_that_does_not_match_the_code_is_refused(tmp_path):
    bad = tmp_path / "model"
    shutil.copytree(default_model_dir(), bad)
    card = json.loads((bad / "card.json").read_text())
    (bad / "card.json").write_text(json.dumps({**card, "version": 99}))
    with pytest.raises(ModelError, match=r"card.json: model card says format .* version 99; this jinglian reads"):
        load_model(bad)
    profile = tmp_path / "p.yaml"
    profile.write_text("quality:\n  model: model\n  min_score: 1.5\n", encoding="utf-8")
    with pytest.raises(ModelError, match="version 99"):  # refused when the pipeline is built
        filter_steps(profile)
    (bad / "card.json").write_text(json.dumps({**card, "folding": "whitespace"}))
    with pytest.raises(ModelError, match="features 'whitespace'"):
        load_model(bad)
    (bad / "card.json").write_text(json.dumps(card))
    weights = bytearray((bad / "weights.npy").read_bytes())
    weights[-1] ^= 1
    (bad / "weights.npy").write_bytes(bytes(weights))
    with pytest.raises(ModelError, match="weights.npy: sha256 differs"):
        load_model(bad)
    with pytest.raises(ModelError, match="card.json not found"):
        load_model(tmp_path)


def test_quality_cli_refuses_a_mismatched_model(cli, tmp_path):
    bad = tmp_path / "model"
    shutil.copytree(default_model_dir(), bad)
    card = json.loads((bad / "card.json").read_text())
    (bad / "card.json").write_text(json.dumps({**card, "format": "other"}))
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"text": ARTICLE}, ensure_ascii=False) + "\n", encoding="utf-8")
    proc = cli("quality", "score", docs, "--model", bad, "--out", tmp_path / "o", check=False)
    assert proc.returncode == 2 and "model card says format 'other'" in proc.stderr


def test_good_article_is_kept_and_one_injected_casino_brand_drops_it():
    steps = filter_steps("zh-web")

    def verdict(text: str):
        doc = Document(text=text, id="a")
        for step in steps:
            result = step.check(doc)
            if result is not None:
                return step.name, result
        return "kept", doc.metadata

    kept, meta = verdict(ARTICLE)
    assert kept == "kept" and 0 <= meta["quality_score"] <= 5 and meta["quality_bucket"] in range(4)
    lines = ARTICLE.split("\n")
    lines[3] = lines[3].replace("据市园林部门介绍", "据澳门新葡京介绍")  # a brand swapped into the body
    step, _ = verdict("\n".join(lines))
    assert step != "kept"


def test_quality_step_scores_buckets_and_balances_the_books(cli, read_docs, tmp_path):
    rows = [{"id": f"c{i}", "text": d["text"]} for i, d in enumerate(clean_web_documents(12, seed=21))]
    rows += [{"id": f"d{i}", "text": d["text"]} for i, d in enumerate(dirty_documents(12, seed=21))]
    rows.append({"id": "article", "text": ARTICLE})
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    cli("filter", docs, "--out", tmp_path / "out", "--workers", "1")
    kept = read_docs(tmp_path / "out" / "documents")
    assert kept and all(0 <= d["metadata"]["quality_score"] <= 5 for d in kept)
    assert all(d["metadata"]["quality_bucket"] in range(4) for d in kept)
    assert "article" in {d["id"] for d in kept}
    books = read_books(tmp_path / "out" / "logs")
    quality = next(s for s in books.steps if s.step == "quality")
    assert books.balanced and quality.docs_in == quality.kept + sum(quality.dropped.values())
    assert books.docs_in == len(rows) and books.kept == len(kept)
    rejected = read_docs(tmp_path / "out" / "rejected" / "quality") if quality.dropped else []
    threshold = load_model().card["threshold"]  # the shipped profile uses the card's threshold
    assert all(d["metadata"]["quality_score"] < threshold for d in rejected)


def test_quality_train_cli_reads_annotate_output(cli, tmp_path):
    labels = labelled(tmp_path, n=30)
    proc = cli("quality", "train", labels, "--out", tmp_path / "m", "--seed", "1")
    assert "trained on 60 labelled texts" in proc.stdout and "skipped 1 with score null" in proc.stdout
    assert load_model(tmp_path / "m").card["training_data"]["rows"] == 60
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "好", "score": 4}\n{"text": "坏", "score": 7}\n', encoding="utf-8")
    proc = cli("quality", "train", bad, "--out", tmp_path / "x", check=False)
    assert proc.returncode == 2 and "bad.jsonl:2: field 'score' must be 0-5 or null, got 7" in proc.stderr


def test_binary_labels_train_on_the_same_scale(tmp_path):
    rows = [{"text": d["text"], "label": "keep"} for d in clean_web_documents(30, seed=4)]
    rows += [{"text": d["text"], "label": 0} for d in dirty_documents(30, seed=4)]
    path = tmp_path / "binary.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    texts, targets, kind, counts = read_labels(path)
    assert kind == "binary" and set(targets) == {0.0, 5.0} and counts["rows"] == 60
    card = train_model(path, tmp_path / "m", threshold=2.5, buckets=[3.0], bits=14)
    assert card["target"].startswith("binary")
    step = QualityStep(tmp_path / "m", min_score=2.5)
    assert step.check(Document(text=dirty_documents(3, seed=5)[0]["text"], id="d")) is not None


def test_spam_lexicon_feature_follows_the_ngram_buckets_and_lowers_the_score():
    from jinglian.corpus.quality import linear

    ids, values = linear.features("澳門新葡京 百家樂 在线投注", 14)  # traditional forms count too
    assert ids[-1] == 1 << 14 and values[-1] > 0
    ids, values = linear.features("今天天气很好，我们去公园散步。", 14)
    assert ids[-1] == 1 << 14 and values[-1] == 0
    shipped = load_model()
    assert shipped.weights.shape == (linear.n_features(shipped.bits),) and shipped.weights[-1] < 0


def test_excerpt_has_the_labels_shape():
    text = "甲" * 600 + "\n" + "乙" * 600 + "丙" * 800
    piece = excerpt(text)
    assert len(piece) == 1001 and piece.startswith("甲" * 500) and "\n" not in piece
    assert excerpt("短文。\n第二行") == "短文。 第二行"


def test_shipped_model_is_the_one_retraining_gives(shared_data, tmp_path):
    """`jinglian quality train excerpts.jsonl` on the shared labels reproduces the shipped weights."""
    labels = shared_data / "quality" / "hplt_zh_annotated" / "excerpts.jsonl"
    shipped = load_model()
    card = train_model(labels, tmp_path / "m", threshold=shipped.card["threshold"], buckets=shipped.card["buckets"])
    assert card["weights_sha256"] == shipped.card["weights_sha256"]
    assert card["training_data"]["sha256"] == shipped.card["training_data"]["sha256"]


def test_report_fragment_shows_histogram_and_examples_per_bucket():
    from jinglian.corpus.quality.report import quality_html

    docs = [{"text": f"文档{i}", "metadata": {"quality_score": 1.0 + i / 10, "quality_bucket": i % 3}} for i in range(20)]
    fragment = quality_html(docs + [{"text": "未评分", "metadata": {}}])
    assert "20 documents" in fragment and "examples by quality_bucket" in fragment
    assert fragment.count("<tr><td>0</td>") == 3 and "未评分" not in fragment
    assert quality_html([{"text": "x", "metadata": {"lang": "zh"}}]) == ""
