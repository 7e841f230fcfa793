"""Chinese-web spam patterns: link lists, navigation menus, contact stuffing, pinyin injection.

What it drops and why (profile section ``spam:``; each statistic is written to ``metadata``):

==========================  ==============================================  ========================
rule                        statistic and unit                              threshold source
==========================  ==============================================  ========================
``max_url_line_share``      lines containing a URL or bare domain / lines   measured; C4 drops
                                                                            boilerplate lines
``max_short_line_share``    lines under ``short_line_chars`` characters     measured on navigation
                            without terminal punctuation / lines            pages vs forum posts
``max_contacts``            phone numbers, QQ numbers, WeChat IDs (count)   measured: an ordinary
                                                                            page gives ≤ 2
``max_pinyin_insertions``   Han character followed by its pinyin in         measured: SEO pages
                            brackets, e.g. ``烟(yan)台`` (count)             that dodge keyword
                                                                            filters do it dozens of
                                                                            times
``max_code_line_share``     lines that look like program code (end in       measured; C4 drops any
                            ``;{}``, ``f(x);``, ``import``, ``/*`` ...)      page with ``{``
                            / lines
==========================  ==============================================  ========================

Share-of-lines rules apply only to documents with at least ``min_lines`` non-empty lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from datatrove.data import Document

from jinglian.corpus.filters.rules import RuleFilter, RuleSpec
from jinglian.corpus.filters.textstats import TERMINAL_PUNCTUATION, non_empty_lines

# Every pattern here runs on page text of any length, so each is linear by construction: a match
# may start only where a run begins (a look-behind), and runs inside it are bounded and possessive
# (DNS: labels of at most 63 characters). Unbounded `[...]+(...)*` from every position was
# quadratic: 36.8 s on a 40k-character hex line (issue 21).
URL_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|(?<![A-Za-z0-9-])[A-Za-z0-9-]{1,63}+(?:\.[A-Za-z0-9-]{1,63}+){0,8}\.(?:com|cn|net|org|cc|top|vip|xyz|info|tv|me)\b",
    re.I,
)
CONTACT_RE = re.compile(
    r"(?<!\d)1[3-9]\d{9}(?!\d)"  # mainland mobile
    r"|(?<!\d)400-?\d{3}-?\d{4}(?!\d)"  # 400 service numbers
    r"|(?<![\d-])0\d{2,3}-\d{7,8}(?!\d)"  # landline with area code
    r"|(?:QQ|qq|Q\s?Q|扣扣|企鹅)(?:号码|号|群)?[:：\s]*\d{5,11}(?!\d)"
    r"|(?:微信|威信|薇信|V信|VX|vx|WX|wx|weixin)(?:号码|号)?[:：\s]*[A-Za-z][A-Za-z0-9_-]{4,19}"
)
CODE_LINE_RE = re.compile(
    r"[;{}]\s*$|^\s*(?:#include|import |from \S+ import|def |class |return\b|if ?\(|for ?\(|while ?\(|//|/\*|\*/)"
    r"|\w\([^()]*\);|\s(?:==|!=|->|=>|\+=)\s"
)
PINYIN_RE = re.compile(r"[\u4e00-\u9fff][(（][a-z]{1,6}[)）]")


class WebSpam(RuleFilter):
    """Datatrove step: the Chinese-web spam rules in the table above."""

    name = "spam"
    RULES = {
        "max_url_line_share": RuleSpec("share of lines", "measured"),
        "max_short_line_share": RuleSpec("share of lines", "measured"),
        "max_contacts": RuleSpec("count of phone/QQ/WeChat mentions", "measured"),
        "max_pinyin_insertions": RuleSpec("count of 字(pinyin) insertions", "measured"),
        "max_code_line_share": RuleSpec("share of lines", "measured; C4 drops pages with code"),
    }

    def __init__(
        self,
        rules: Mapping[str, float | int | None] | None = None,
        min_lines: int = 5,
        short_line_chars: int = 10,
        rejects_dir: str | None = None,
    ):
        super().__init__(rules, rejects_dir)
        self.min_lines = min_lines
        self.short_line_chars = short_line_chars

    def statistics(self, doc: Document) -> Iterator[tuple]:
        text = doc.text
        lines = non_empty_lines(text)
        judged = len(lines) >= self.min_lines  # the line rules are recorded always, judged only then
        n = max(len(lines), 1)
        yield "url_line_share", sum(1 for line in lines if URL_RE.search(line)) / n, judged
        short = sum(
            1
            for line in lines
            if len(line.replace(" ", "")) < self.short_line_chars and not line.endswith(TERMINAL_PUNCTUATION)
        )
        yield "short_line_share", short / n, judged
        yield "code_line_share", sum(1 for line in lines if CODE_LINE_RE.search(line)) / n, judged
        yield "contacts", len(CONTACT_RE.findall(text))
        yield "pinyin_insertions", len(PINYIN_RE.findall(text))
