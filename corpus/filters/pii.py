"""Personal information → placeholders: phone numbers, resident ID numbers, e-mail, IPv4, bank cards.

Drops nothing: it rewrites the text and counts what it replaced, per kind, in the step's stats
(``pii/<kind>``, summed over the run) and in ``metadata["pii"]`` (``{kind: count}`` for every
enabled kind, zeros included). Profile section ``pii:`` selects the kinds.

=============  ==========================================================  ===============
kind           what is matched                                              placeholder
=============  ==========================================================  ===============
``id_card``    18-character resident ID (GB 11643-1999): 6-digit area,      ``<ID_NUMBER>``
               valid birth date 1900-2099, 3-digit sequence, ISO 7064
               MOD 11-2 check character (0-9 or X) — checksum validated
``bank_card``  16-19 digits (spaces/hyphens allowed between them), first    ``<BANK_CARD>``
               digit 3-6, Luhn checksum valid
``mobile``     mainland mobile 1[3-9]x xxxx xxxx, optional +86              ``<PHONE>``
``landline``   area code 0xx/0xxx with a separator, then 7-8 digits         ``<PHONE>``
``email``      name@domain.tld                                              ``<EMAIL>``
``ipv4``       four dot-separated octets 0-255, not all single digits       ``<IP>``
               (``3.1.4.2`` is a dental formula in a Wikipedia paragraph)
=============  ==========================================================  ===============

Order matters: ID numbers and bank cards are replaced before phones, so a phone pattern never
eats part of an ID number. A run of digits that fails its checksum is left alone (and counted
nowhere): an order number is not an ID card.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from datatrove.data import Document

from jinglian.corpus.stats import AccountedFilter, Verdict

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

ID_CARD_RE = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
BANK_CARD_RE = re.compile(r"(?<![\d-])[3-6]\d{3}(?:[ -]?\d){12,15}(?![\d-])")
MOBILE_RE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
# Area code in brackets or followed by - or a space, then 7-8 digits, optionally split 3-4/4-4 by
# - or a space: 010-88888888, 0755-2688-8888, 010-8888 8888, 021 6888 8888, (0755)2688-8888.
LANDLINE_RE = re.compile(
    r"(?<![\d-])(?:\(0\d{2,3}\)[ ]?|（0\d{2,3}）[ ]?|0\d{2,3}[- ])\d{3,4}[- ]?\d{4}(?![\d-])"
)
# Linear by construction: the local part starts only where a run of its characters starts and is
# at most 64 characters (RFC 5321), domain labels at most 63. Unbounded, it was quadratic (22 s on
# a 48k-character line, issue 21).
EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}+@(?:[A-Za-z0-9-]{1,63}+\.){1,8}[A-Za-z]{2,24}+"
)
IPV4_RE = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"
)


def id_checksum_ok(number: str) -> bool:
    """ISO 7064 MOD 11-2 check of an 18-character resident ID number."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


# kind -> (pattern, placeholder, validator of the match or None)
PII_KINDS: dict[str, tuple[re.Pattern, str, Callable[[str], bool] | None]] = {
    "id_card": (ID_CARD_RE, "<ID_NUMBER>", id_checksum_ok),
    "bank_card": (BANK_CARD_RE, "<BANK_CARD>", lambda s: 16 <= len(_digits(s)) <= 19 and luhn_ok(_digits(s))),
    "mobile": (MOBILE_RE, "<PHONE>", None),
    "landline": (LANDLINE_RE, "<PHONE>", None),
    "email": (EMAIL_RE, "<EMAIL>", None),
    # all-single-digit quads (3.1.4.2: dental formulas, section numbers) are not addresses
    "ipv4": (IPV4_RE, "<IP>", lambda s: any(len(octet) > 1 for octet in s.split("."))),
}


def redact(text: str, kinds: tuple[str, ...] | list[str] = tuple(PII_KINDS)) -> tuple[str, dict[str, int]]:
    """``text`` with PII replaced by placeholders, and the count replaced per kind."""
    counts: dict[str, int] = {}
    for kind in kinds:
        pattern, placeholder, valid = PII_KINDS[kind]

        def replace(match: re.Match, kind=kind, placeholder=placeholder, valid=valid) -> str:
            if valid is not None and not valid(match.group()):
                return match.group()
            counts[kind] = counts.get(kind, 0) + 1
            return placeholder

        text = pattern.sub(replace, text)
    return text, counts


class PIIRedactor(AccountedFilter):
    """Datatrove step: replace PII with placeholders (never drops; counts ``pii/<kind>``)."""

    name = "pii"

    def __init__(self, kinds: list[str] | tuple[str, ...] | None = None, rejects_dir: str | None = None):
        super().__init__(rejects_dir)
        from jinglian.corpus.filters.rules import ProfileError

        self.kinds = tuple(kinds) if kinds is not None else tuple(PII_KINDS)
        unknown = [k for k in self.kinds if k not in PII_KINDS]
        if unknown:
            raise ProfileError(f"pii.kinds: unknown kind {unknown[0]!r} (known: {', '.join(PII_KINDS)})")

    def check(self, doc: Document) -> Verdict:
        doc.text, counts = redact(doc.text, self.kinds)
        doc.metadata["pii"] = {kind: counts.get(kind, 0) for kind in self.kinds}  # same keys on every doc
        for kind, n in counts.items():
            self.stat_update(f"pii/{kind}", value=n)
        return None
