"""PII redaction: phone numbers, resident IDs (checksum), e-mail, IPv4, bank cards (Luhn)."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from jinglian.corpus.filters.pii import PIIRedactor, id_checksum_ok, luhn_ok, redact
from jinglian.corpus.filters.rules import ProfileError


def make_id(body17: str) -> str:
    """A resident ID number with its correct ISO 7064 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


def make_card(prefix15: str) -> str:
    """A 16-digit card number with a valid Luhn check digit."""
    for check in "0123456789":
        if luhn_ok(prefix15 + check):
            return prefix15 + check
    raise AssertionError


VALID_ID = make_id("11010519491231002")  # Beijing area code, born 1949-12-31
VALID_CARD = make_card("622202123456789")  # a UnionPay-style prefix


def test_checksums():
    assert VALID_ID[-1] == "X" and id_checksum_ok(VALID_ID)
    assert not id_checksum_ok(VALID_ID[:-1] + "1")
    assert luhn_ok(VALID_CARD) and not luhn_ok(VALID_CARD[:-1] + str((int(VALID_CARD[-1]) + 1) % 10))


@pytest.mark.parametrize(
    "text, kind, placeholder",
    [
        ("有意者请拨打13912345678与王先生联系。", "mobile", "<PHONE>"),
        ("客服热线 +86 139-1234-5678 全天在线。", "mobile", "<PHONE>"),
        ("办公室电话：010-62345678，传真另询。", "landline", "<PHONE>"),
        ("订餐电话（0755）86001234。", "landline", "<PHONE>"),
        (f"身份证号{VALID_ID}，请妥善保管。", "id_card", "<ID_NUMBER>"),
        (f"收款账户：{VALID_CARD}，开户行为工商银行。", "bank_card", "<BANK_CARD>"),
        (
            f"卡号 {VALID_CARD[:4]} {VALID_CARD[4:8]} {VALID_CARD[8:12]} {VALID_CARD[12:]} 已冻结。",
            "bank_card",
            "<BANK_CARD>",
        ),
        ("简历请发送至 hr.zhaopin@example.com.cn，注明岗位。", "email", "<EMAIL>"),
        ("服务器地址为192.168.10.254，端口默认。", "ipv4", "<IP>"),
    ],
)
def test_each_kind_is_replaced_and_counted(text, kind, placeholder):
    out, counts = redact(text)
    assert placeholder in out and counts == {kind: 1}, (out, counts)
    assert "，" in out or "。" in out  # the Chinese around it is untouched


@pytest.mark.parametrize(
    "text",
    [
        f"订单号{VALID_ID[:-1]}{'1' if VALID_ID[-1] != '1' else '2'}已发货。",  # ID-shaped, bad checksum
        f"流水号{VALID_CARD[:-1]}{(int(VALID_CARD[-1]) + 1) % 10}。",  # card-shaped, fails Luhn
        "版本号 1.2.3 发布于2023年，下载量超过12345678次。",
        "IP 地址 999.1.1.1 不合法。",
        "牠们的齿式是：上颚1-3.1.4.2；下颚3.1.4.2-3。",
        "共有12345678901234567890人次参观。",
    ],
)
def test_lookalikes_are_left_alone(text):
    out, counts = redact(text)
    assert out == text and counts == {}


def test_id_number_is_not_eaten_by_the_phone_pattern():
    out, counts = redact(f"证件{VALID_ID}，电话13912345678。")
    assert out == "证件<ID_NUMBER>，电话<PHONE>。" and counts == {"id_card": 1, "mobile": 1}


def test_step_never_drops_and_records_counts():
    step = PIIRedactor(["mobile", "email"])
    doc = Document(text="联系人：李经理 13812345678，li@example.com；备用 13987654321。", id="x")
    assert step.check(doc) is None
    assert doc.metadata["pii"] == {"mobile": 2, "email": 1}  # every enabled kind, in order
    assert doc.text == "联系人：李经理 <PHONE>，<EMAIL>；备用 <PHONE>。"
    clean = Document(text="今天天气很好。", id="y")
    assert step.check(clean) is None and clean.metadata["pii"] == {"mobile": 0, "email": 0}


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ProfileError, match="unknown kind 'passport'"):
        PIIRedactor(["passport"])
