"""Normalization: Chinese punctuation survives NFKC, width, invisible characters, whitespace, 繁→简."""

from datatrove.data import Document

from jinglian.corpus.normalize import Normalizer, fold_whitespace, normalize_unicode


def test_chinese_punctuation_survives_and_fullwidth_ascii_becomes_halfwidth():
    text = "你好，世界。真的吗？是的！注意：第一；（括号）……ＡＢＣ１２３ｘｙｚ％＃"
    out = normalize_unicode(text)
    for mark in "，。？！：；（）…":
        assert mark in out, mark
    assert "ABC123xyz%#" in out
    assert "……" in out  # plain NFKC would turn this into "......"


def test_invisible_and_control_characters_are_removed():
    text = "中\u200b文\u200d内\ufeff容\u00ad测\u202e试\x07。"
    assert normalize_unicode(text) == "中文内容测试。"


def test_whitespace_folding_keeps_paragraph_breaks():
    text = "\u3000\u3000第一段第一行。  \n第一段第二行。\r\n\r\n\r\n\n\t第二段。\u00a0\u00a0结束。   "
    out = fold_whitespace(normalize_unicode(text))
    assert out == "第一段第一行。\n第一段第二行。\n\n第二段。 结束。"


def test_traditional_to_simplified_and_script_recorded():
    norm = Normalizer()
    doc = Document(text="我們應該學習這個軟體的開發經驗，這對於資料處理很有幫助。", id="t")
    assert norm.check(doc) is None
    assert doc.text.startswith("我们应该学习这个")
    assert "，" in doc.text and doc.text.endswith("。")
    assert doc.metadata["script"] == "hant"
    assert doc.metadata["t2s_changed"] >= 8


def test_simplified_text_is_recorded_as_such_and_left_alone():
    doc = Document(text="我们应该学习这个软件的开发经验。", id="s")
    Normalizer().check(doc)
    assert doc.text == "我们应该学习这个软件的开发经验。"
    assert doc.metadata == {"script": "hans", "t2s_changed": 0}


def test_no_t2s_keeps_the_script_but_still_records_it():
    doc = Document(text="資料處理，軟體開發。", id="n")
    Normalizer(t2s=False).check(doc)
    assert doc.text == "資料處理，軟體開發。"
    assert doc.metadata["script"] == "hant"


def test_document_with_nothing_left_is_dropped_for_a_reason():
    doc = Document(text="\u200b \n\u3000\t\ufeff", id="e")
    assert Normalizer().check(doc) == "empty_after_normalize"
