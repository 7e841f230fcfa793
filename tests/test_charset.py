"""Charset edge cases of Chinese pages: HZ, Big5 with cp950 bytes, short undeclared GBK, and w3lib beside us."""

from __future__ import annotations

from w3lib.encoding import html_to_unicode

from jinglian.corpus.extract.charset import decode_html, frequent_han_share

BIG5_TEXT = "中華民國的網頁，台北今日天氣晴朗，價格是"
GBK_SHORT = "<p>简单的网页</p>"


def test_hz_page_is_decoded():
    body = b"<html><body><p>~{" + "己所不欲，勿施于人。".encode("hz")[2:] + b"</p></body></html>"
    assert body.isascii()
    decoded = decode_html(body)
    assert (decoded.charset, decoded.errors) == ("hz", 0) and "己所不欲，勿施于人。" in decoded.text
    assert "~{" in html_to_unicode(None, body)[1]  # w3lib leaves it undecoded
    declared = decode_html(body, "text/html; charset=HZ-GB-2312")
    assert (declared.charset, declared.source) == ("hz", "http")
    # a tilde-brace in an ordinary ASCII page is not HZ
    assert decode_html(b"<p>a ~{ b ~} c</p>").charset == "ascii"


def test_short_big5_page_with_a_cp950_euro_keeps_its_declaration():
    body = f"<meta charset=big5><p>{BIG5_TEXT}".encode("big5") + b"\x80" + "元".encode("big5")
    decoded = decode_html(body)
    assert (decoded.charset, decoded.source, decoded.errors) == ("big5hkscs", "meta", 0)
    assert decoded.text.endswith(BIG5_TEXT + "€元")


def test_big5_is_not_read_as_gb18030_when_detection_decides():
    # undeclared Big5 (no meta), and Big5 declared as utf-8: the fallback must still find Big5
    for body in (
        f"<p>{BIG5_TEXT}</p>".encode("big5"),
        f"<meta charset=utf-8><p>{BIG5_TEXT}</p>".encode("big5"),
    ):
        decoded = decode_html(body)
        assert decoded.charset == "big5hkscs" and BIG5_TEXT in decoded.text
        assert decoded.source.startswith("detected")
        assert frequent_han_share(body.decode("gb18030", "replace")) < 0.1 < frequent_han_share(decoded.text)


def test_short_undeclared_gbk_pages_are_not_garbled():
    for text in ("中文", GBK_SHORT, "<title>新闻</title>"):
        decoded = decode_html(text.encode("gbk"))
        assert (decoded.charset, decoded.text) == ("gb18030", text), text
    assert html_to_unicode(None, GBK_SHORT.encode("gbk"))[1] != GBK_SHORT  # w3lib: UTF-8 with U+FFFD


def test_other_cjk_pages_keep_the_detector_guess():
    korean = "안녕하세요 한국어 페이지입니다. 오늘 날씨가 좋습니다.".encode("euc-kr")
    decoded = decode_html(korean)
    assert decoded.charset in ("cp949", "euc_kr") and "한국어" in decoded.text


def test_a_big5_byte_that_no_codec_knows_still_counts_as_an_error():
    body = f"<meta charset=big5><p>{BIG5_TEXT * 20}".encode("big5") + b"\xff\xff"
    decoded = decode_html(body)
    assert decoded.charset == "big5hkscs" and decoded.errors >= 1 and BIG5_TEXT in decoded.text
