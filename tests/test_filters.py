"""Chinese heuristics, web-spam rules, blocklists and profiles, on realistic Chinese text."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from datatrove.data import Document

from jinglian.corpus.filters import ProfileError, filter_steps, load_profile
from jinglian.corpus.filters.blocklists import Blocklist, load_terms
from jinglian.corpus.filters.heuristics import ChineseHeuristics
from jinglian.corpus.filters.spam import WebSpam
from jinglian.corpus.normalize import Normalizer
from jinglian.corpus.sample import clean_web_documents, dirty_documents

NORMALIZER = Normalizer()
ARTICLE = (
    "国家统计局公布的数据显示，上季度社会消费品零售总额同比增长。分析人士指出，稳就业仍然是今年经济工作的重点之一。"
    "随着跨境电商的发展，越来越多的国产品牌走向海外市场。\n"
    "地方政府出台了一系列措施，支持小微企业渡过难关。银行方面表示，将进一步简化贷款审批流程，提高服务效率。\n"
    "业内预计，明年新能源汽车的市场份额还将继续提升。这家老字号企业通过直播带货，一年内销售额翻了一番。"
)


@pytest.fixture(scope="module")
def zh_web():
    return filter_steps("zh-web")


@pytest.fixture(scope="module")
def zh_web_rules(tmp_path_factory):
    """zh-web without its learned quality step: the rules alone (the score has its own tests in
    test_quality_model.py; the rule tests must not depend on which model ships)."""
    path = tmp_path_factory.mktemp("profiles") / "rules.yaml"
    path.write_text("extends: zh-web\nquality: null\n", encoding="utf-8")
    return path


def run_steps(steps, text: str, normalize: bool = True):
    """(step name, reason, value) of the first step that drops ``text``, else None; and the doc."""
    doc = Document(text=NORMALIZER.normalize(text)[0] if normalize else text, id="t")
    for step in steps:
        verdict = step.check(doc)
        if verdict is not None:
            reason, value = verdict if isinstance(verdict, tuple) else (verdict, None)
            return (step.name, reason, value), doc
    return None, doc


# ---- heuristics, rule by rule ----------------------------------------------------------------


def heuristics(**rules) -> ChineseHeuristics:
    return ChineseHeuristics(rules)


def test_statistics_are_recorded_before_thresholding():
    doc = Document(text=ARTICLE, id="a")
    assert heuristics(min_han_ratio=0.3, min_stopwords=2, max_top_2gram_fraction=0.25).check(doc) is None
    md = doc.metadata
    assert md["han_chars"] > 100 and 0.8 < md["han_ratio"] <= 1.0
    assert md["stopwords"] >= 5 and 0 < md["top_2gram_fraction"] < 0.1
    assert md["chars"] == len("".join(ARTICLE.split()))


@pytest.mark.parametrize(
    "rules, text, reason",
    [
        ({"min_han_chars": 40}, "今天天气很好。", "min_han_chars"),
        ({"max_chars": 1000}, ARTICLE * 10, "max_chars"),
        (
            {"min_han_ratio": 0.3},
            "Latest Submit (811)\nMedicine, Pharmacy (228)\n医学 药学\nCivil Engineering (66)",
            "min_han_ratio",
        ),
        (
            {"max_digit_ratio": 0.35},
            "2023-10-01 12:00:01 1024 2048 4096 8192 16384 数据 记录 编号 3141592653",
            "max_digit_ratio",
        ),
        (
            {"max_symbol_ratio": 0.15},
            "★★★★★ 好评 ★★★★★ ###### 推荐 ###### ||||| 必看 |||||",
            "max_symbol_ratio",
        ),
        ({"min_avg_line_chars": 8}, "首页\n新闻\n产品\n联系\n关于\n留言", "min_avg_line_chars"),
        (
            {"min_terminal_punct_share": 0.106},
            "首页新闻中心\n产品展示中心\n联系我们页面\n关于我们页面",
            "min_terminal_punct_share",
        ),
        (
            {"max_dup_line_share": 0.287},
            "\n".join(["欢迎访问本站，祝您购物愉快。"] * 5 + ["本站商品种类齐全。"]),
            "max_dup_line_share",
        ),
        (
            {"max_top_2gram_fraction": 0.25},
            "哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈，好好笑啊。" * 3,
            "max_top_2gram_fraction",
        ),
        ({"max_dup_10gram_fraction": 0.35}, "防水涂料价格多少钱一吨，" * 12, "max_dup_10gram_fraction"),
        (
            {"min_stopwords": 2},
            "北京 上海 广州 深圳 成都 杭州 武汉 西安 南京 重庆 天津 苏州 郑州 长沙 东莞 沈阳",
            "min_stopwords",
        ),
        (
            {"min_stopword_hits": 2},
            "北京 广州 深圳 杭州 武汉 西安 南京 天津 苏州 郑州 长沙 东莞 沈阳 厦门 青岛 宁波",
            "min_stopword_hits",
        ),
    ],
)
def test_each_heuristic_rule_drops_with_its_name_and_value(rules, text, reason):
    verdict = heuristics(**rules).check(Document(text=text, id="x"))
    assert verdict is not None and verdict[0] == reason
    assert isinstance(verdict[1], (int, float))
    # The same text passes once the rule is switched off.
    assert heuristics(**{k: None for k in rules}).check(Document(text=text, id="x")) is None


def test_rare_characters_catch_random_characters_even_in_traditional_script():
    gibberish = next(d["text"] for d in dirty_documents(11, 0) if d["metadata"]["kind"] == "gibberish")
    verdict = heuristics(max_rare_han_share=0.6).check(Document(text=gibberish, id="g"))
    assert verdict[0] == "max_rare_han_share" and verdict[1] > 0.6
    traditional = "近年來，人工智慧技術在醫療、交通和教育等領域得到了廣泛應用。專家認為，數據安全和個人隱私保護是數位經濟發展的前提。"
    doc = Document(text=traditional, id="t")
    assert (
        heuristics(max_rare_han_share=0.6).check(doc) is None and 0.1 < doc.metadata["rare_han_share"] < 0.6
    )
    doc = Document(text=ARTICLE, id="a")
    assert heuristics(max_rare_han_share=0.6).check(doc) is None and doc.metadata["rare_han_share"] < 0.05


def test_single_character_words_catch_random_characters():
    gibberish = next(d["text"] for d in dirty_documents(11, 0) if d["metadata"]["kind"] == "gibberish")
    verdict = heuristics(max_single_char_word_share=0.95).check(Document(text=gibberish, id="g"))
    assert verdict[0] == "max_single_char_word_share" and verdict[1] > 0.95
    assert heuristics(max_single_char_word_share=0.95).check(Document(text=ARTICLE, id="a")) is None


def test_line_rules_skip_single_paragraph_documents():
    # A one-line encyclopedic paragraph cut off mid-sentence has no "lines" to judge.
    paragraph = ARTICLE.replace("\n", "")[:-1]
    assert (
        heuristics(min_terminal_punct_share=0.5, min_avg_line_chars=8).check(Document(text=paragraph, id="p"))
        is None
    )


def test_unknown_rule_and_bad_threshold_are_clear_errors():
    with pytest.raises(ProfileError, match="unknown rule 'min_han_chras'"):
        heuristics(min_han_chras=10)
    with pytest.raises(ProfileError, match="must be a number"):
        heuristics(min_han_chars="ten")


# ---- web spam --------------------------------------------------------------------------------


def test_spam_rules_name_each_pattern():
    spam = WebSpam(
        {
            "max_contacts": 4,
            "max_pinyin_insertions": 3,
            "max_url_line_share": 0.3,
            "max_short_line_share": 0.5,
            "max_code_line_share": 0.3,
        }
    )
    kinds = {d["metadata"]["kind"]: d["text"] for d in dirty_documents(11, 2)}
    assert spam.check(Document(text=kinds["contact"], id="c"))[0] == "max_contacts"
    assert spam.check(Document(text=kinds["pinyin"], id="p"))[0] == "max_pinyin_insertions"
    assert spam.check(Document(text=kinds["code"], id="k"))[0] == "max_code_line_share"
    links = "\n".join(
        f"{t} http://www.example{i}.com/list"
        for i, t in enumerate(["新闻", "体育", "财经", "娱乐", "科技", "汽车"])
    )
    assert spam.check(Document(text=links, id="l"))[0] in ("max_url_line_share", "max_short_line_share")
    nav = "\n".join(["首页", "新闻中心", "产品展示", "联系我们", "关于我们", "在线留言", "网站地图"])
    assert spam.check(Document(text=nav, id="n"))[0] == "max_short_line_share"
    # A company page with one phone number and one e-mail stays.
    page = "欢迎各界朋友来电洽谈合作，联系电话：010-62345678，手机13912345678。\n地址：北京市海淀区。"
    doc = Document(text=page, id="ok")
    assert spam.check(doc) is None and doc.metadata["contacts"] == 2


# ---- blocklists ------------------------------------------------------------------------------


def test_blocklist_weights_ambiguous_words_and_catches_hidden_gambling():
    block = Blocklist({"max_blocklist_score": 2.0})
    news = "警方破获一起网络赌博案，提醒市民远离色情和赌博信息，网络平台应当加强监管，网络安全人人有责。"
    doc = Document(text=news, id="news")
    assert block.check(doc) is None and doc.metadata["blocklist_score"] <= 2.0
    hidden = next(d["text"] for d in dirty_documents(11, 5) if d["metadata"]["kind"] == "hidden_gambling")
    doc = Document(text=hidden, id="hidden")
    reason, value = block.check(doc)
    assert reason == "max_blocklist_score" and value > 2.0
    categories = dict(kv.split("=") for kv in doc.metadata["blocklist_categories"].split(","))
    assert float(categories["gambling"]) > 2.0 and doc.metadata["blocklist_terms"]


def test_blocklist_matches_across_spaces_and_case():
    block = Blocklist({"max_blocklist_score": 1.0})
    assert (
        block.check(Document(text="欢迎来到 BET 365 体育，真 人 荷 官 在线发牌。", id="x"))[0]
        == "max_blocklist_score"
    )


def test_user_blocklist_with_blank_lines_duplicates_and_weights(tmp_path):
    path = tmp_path / "my_ads.txt"
    path.write_text("# my list\n\n代购\n代购\n  \n高仿包\t2.5\n代购\t0.5\n", encoding="utf-8")
    terms = load_terms([str(path)])
    assert set(terms) == {"代购", "高仿包"}
    assert (
        terms["代购"].weight == 1.0 and terms["高仿包"].weight == 2.5 and terms["代购"].category == "my_ads"
    )
    block = Blocklist({"max_blocklist_score": 2.0}, lists=[{"path": str(path), "weight": 0.2}])
    assert block.terms["代购"].weight == 0.5  # the line's own weight wins over the list weight
    doc = Document(text="专业高仿包，海外代购。", id="x")
    assert block.check(doc) == ("max_blocklist_score", 3.0)
    bad = tmp_path / "bad.txt"
    bad.write_text("赌场\tlots\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="bad.txt:1: weight 'lots'"):
        load_terms([str(bad)])
    with pytest.raises(ProfileError, match="no such file"):
        load_terms([str(tmp_path / "missing.txt")])


# ---- profiles --------------------------------------------------------------------------------


def test_zh_web_profile_names_every_rule_with_a_threshold():
    profile = load_profile("zh-web")
    assert profile.sections["heuristics"]["min_han_ratio_non_english"] == 0.30
    steps = filter_steps(profile)
    assert [s.name for s in steps] == [
        "langid", "urls", "blocklist", "page_types", "lines", "heuristics", "spam", "quality", "pii",
    ]


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("heuristics: {min_han_chras: 3}\n", "unknown key 'heuristics.min_han_chras'"),
        ("filters: {}\n", "unknown section 'filters'"),
        ("heuristics: [1, 2\n", "invalid YAML at line"),
        ("langid: {colour: red}\n", "unknown key 'langid.colour'"),
        ("pii: {kinds: [passport]}\n", "unknown kind 'passport'"),
        ("quality_model: {path: missing.bin, min_score: 0.5}\n", "quality model not found"),
        ("extends: zh-web\nblocklists: {lists: [nope.txt]}\n", "no such file"),
        ("langid: {model: nope.ftz}\n", "language ID model not found"),
        ("langid: {min_score: high}\n", "'langid.min_score' must be a number"),
        ("langid: {languages: 3}\n", "'langid.languages' must be a list"),
        ("spam: {max_contacts: [4]}\n", "threshold must be a number"),
    ],
)
def test_bad_profiles_fail_with_the_key_named(tmp_path, yaml_text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises((ProfileError, FileNotFoundError), match=message):
        filter_steps(path)


def test_extends_overrides_only_what_it_sets(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "extends: zh-web\nheuristics:\n  min_han_chars: 100\nspam: null\npii: false\n", encoding="utf-8"
    )
    profile = load_profile(path)
    assert profile.sections["heuristics"]["min_han_chars"] == 100
    assert profile.sections["heuristics"]["min_han_ratio_non_english"] == 0.30
    assert [s.name for s in filter_steps(profile)] == [
        "langid", "urls", "blocklist", "page_types", "lines", "heuristics", "quality",
    ]


# ---- the zh-web profile on realistic data ----------------------------------------------------


def test_zh_web_keeps_clean_and_drops_every_kind_of_dirty(zh_web_rules):
    zh_web = filter_steps(zh_web_rules)
    clean = clean_web_documents(80, seed=3)
    kept = [d for d in clean if run_steps(zh_web, d["text"])[0] is None]
    assert len(kept) == len(clean), [d["text"][:40] for d in clean if d not in kept]
    dirty = dirty_documents(110, seed=3)
    survivors = Counter(d["metadata"]["kind"] for d in dirty if run_steps(zh_web, d["text"])[0] is None)
    assert not survivors, survivors


def test_zh_web_keeps_95_percent_of_shared_paragraphs(zh_web, shared_data):
    texts = []
    for name in ("cmrc2018_dev_paragraphs.jsonl", "drcd_traditional_paragraphs.jsonl"):
        with open(shared_data / "text" / name, encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f]
    kept = sum(1 for t in texts if run_steps(zh_web, t)[0] is None)
    assert kept / len(texts) >= 0.95


# ---- the command -----------------------------------------------------------------------------


def test_filter_cli_end_to_end_with_rejects_and_balanced_books(cli, read_docs, tmp_path, zh_web_rules):
    docs = clean_web_documents(24, seed=1) + dirty_documents(22, seed=1)
    docs.append(
        {
            "id": "pii",
            "text": (
                "本次培训面向全市中小学教师，报名截止时间为本月二十日。如有问题请联系张老师，手机13912345678，"
                "邮箱zhang.laoshi@example.com。我们会在三个工作日内回复大家的问题，谢谢各位老师的支持。"
            ),
            "metadata": {},
        }
    )
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    out = tmp_path / "out"
    proc = cli("filter", src, "--out", out, "--workers", "1", "--profile", zh_web_rules)
    assert "books balance" in proc.stdout and "PII replaced" in proc.stdout
    kept = read_docs(out / "documents")
    assert {d["id"] for d in kept} >= {d["id"] for d in docs if d["id"].startswith("clean")}
    assert not any(d["id"].startswith("dirty") for d in kept)
    pii_doc = next(d for d in kept if d["id"] == "pii")
    assert (
        "<PHONE>" in pii_doc["text"] and "<EMAIL>" in pii_doc["text"] and "13912345678" not in pii_doc["text"]
    )
    assert {k: v for k, v in pii_doc["metadata"]["pii"].items() if v} == {"mobile": 1, "email": 1}
    assert "han_ratio" in pii_doc["metadata"] and pii_doc["metadata"]["lang"] == "zh"
    rejected = read_docs(out / "rejected")
    assert len(rejected) == 22
    assert all(r["metadata"]["reject_reason"] and "reject_value" in r["metadata"] for r in rejected)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["balanced"] and stats["in"] == len(docs) and stats["kept"] == len(kept)


def test_filter_cli_bad_profile_is_one_line(cli, tmp_path, sample_jsonl):
    bad = tmp_path / "bad.yaml"
    bad.write_text("heuristics:\n  min_han_chras: 3\n", encoding="utf-8")
    proc = cli("filter", sample_jsonl, "--out", tmp_path / "o", "--profile", bad, check=False)
    assert proc.returncode == 2 and "heuristics.min_han_chras" in proc.stderr
    proc = cli("filter", sample_jsonl, "--out", tmp_path / "o", "--profile", "no-such-profile", check=False)
    assert proc.returncode == 2 and "no such file" in proc.stderr


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "lang"),
        ("，。！？……——《》“”", "lang"),
        ("😀😂🎉👍🔥" * 20, "lang"),
        (
            "近年来，人工智能技术在医疗、交通和教育等领域得到了广泛应用" * 120_000,
            "max_chars",
        ),  # ~10 MB, one line
    ],
)
def test_bad_documents_are_dropped_with_a_reason_not_crashed(zh_web, text, reason):
    dropped, doc = run_steps(zh_web, text, normalize=False)  # the filters must cope with raw input
    assert dropped is not None and dropped[1] == reason


def test_parquet_output_keeps_late_metadata(cli, tmp_path):
    """Kept documents share one metadata schema, so Parquet (schema from the first document) keeps
    the PII counts and line statistics of documents further down."""
    import pyarrow.parquet as pq

    docs = [{"id": "one-line", "text": ARTICLE.replace("\n", "")}]  # line statistics do not apply
    docs.append(
        {
            "id": "late",
            "text": (
                "本次培训面向全市中小学教师，报名截止时间为本月二十日。\n如有问题请联系张老师，手机13912345678。\n"
                "我们会在三个工作日内回复大家的问题。\n谢谢各位老师的支持，欢迎大家积极报名参加。"
            ),
        }
    )
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    cli("filter", src, "--out", tmp_path / "out", "--workers", "1", "--format", "parquet")
    (path,) = (tmp_path / "out" / "documents").glob("*.parquet")
    rows = {r["id"]: r for r in pq.read_table(path).to_pylist()}
    late = rows["late"]["metadata"]
    assert late["pii"]["mobile"] == 1 and "<PHONE>" in rows["late"]["text"]
    assert late["terminal_punct_share"] == 1.0 and late["avg_line_chars"] > 8


def test_filter_steps_slot_into_the_curate_pipeline(tmp_path, read_docs):
    """How ``curate`` wires filtering in: its own list of steps, filter_steps before the writer."""
    from jinglian.corpus.curate import curate_pipeline
    from jinglian.corpus.executors import run_pipeline

    files = []
    for i, docs in enumerate((clean_web_documents(20, seed=8), dirty_documents(22, seed=8))):
        path = tmp_path / f"part{i}.jsonl"
        path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
        files.append(str(path))
    out = tmp_path / "curated"
    pipeline = curate_pipeline(files, out)
    pipeline[-1:-1] = filter_steps("zh-web", str(out / "rejected"))
    result = run_pipeline(pipeline, out, tasks=2, workers=2)
    books = result.books
    assert books.balanced and books.docs_in == 42
    names = [s.step for s in books.steps]
    assert names.index("normalize") < names.index("langid") < names.index("heuristics") < names.index("pii")
    kept = read_docs(out / "documents")
    assert len(kept) == books.kept and not any(d["id"].startswith("dirty") for d in kept)
    assert sum(books.dropped.values()) == len(read_docs(out / "rejected"))
