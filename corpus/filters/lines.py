"""Line-level cleaning of Chinese web pages: drop the site's boilerplate lines, keep the prose.

A WET page or an extracted page still carries its site: menus, breadcrumbs, ``上一篇/下一篇``,
``版权所有`` and ICP lines, share bars, login prompts, lists of teasers and bare dates. C4,
RefinedWeb, CCNet and ChineseWebText remove such lines before judging the document; without that
a good article with a menu fails every line-share rule. Each non-empty line is classed as

* **boilerplate**: a short line matching a boilerplate phrase (``BOILERPLATE_RE``; in a sentence,
  only a phrase at its start: ``台风在广东登陆。`` is news, ``登录后查看全文。`` is not), a line of any
  length with a footer mark (copyright, ICP/公安备案, ``Powered by``), a line of only digits, dates,
  times and punctuation, a menu line (three or more short items separated by spaces, ``|`` or
  ``·``), a truncated teaser ending in ``...``/``…`` or a title with a numeric date before or
  after it (``2020-01-19·标题``, ``标题 2022-06-27``) when the page has a list of them, or a teaser
  cut at a fixed length (``clipped_min_lines`` unpunctuated lines of the same length, at least
  ``clipped_min_chars`` long: article lists that clip each summary at, say, 100 characters);
* **prose**: ends with terminal punctuation (``。！？…”``) and has ``min_prose_chars`` letters, or
  is at least ``long_line_chars`` characters long, or is part of a sentence broken over short lines
  (verse, a wrapped sentence: lines ending ``，；、`` up to one ending ``。！？``, each with 4+
  letters; menus and link lists never end in a comma);
* **short**: anything else (headings, link text, labels).

Boilerplate is dropped; prose is kept; a short line is kept only when the next line that is not
boilerplate is prose (a heading above its paragraph), when it belongs to a run of at most
``max_short_run`` short lines between two prose lines (a list or a table inside the article; menus
come before and after the prose), or when it is the page's first line (the title,
without a trailing `` - 站点名`` / ``_站点名``; dropped when the page repeats it as its heading).
Before classing, a marker glued after a line's final punctuation is cut off: paragraph comment
counts of novel sites (``……的出口。12``) and footnote marks of encyclopedias (``……而成。[1][3]``);
they hide the sentence end from every punctuation rule. The cleaned text replaces ``doc.text``
(a blank line between two kept lines wherever the page had one: paragraph breaks stay);
``lines_removed`` (count) and ``chars_removed_share`` (removed non-whitespace characters / all of
them) go into metadata, and the run totals ``lines_removed``, ``chars_removed`` and ``chars_seen``
(non-whitespace characters) into the step's datatrove stats (``logs/stats/<task>.json``; every page
the step saw, dropped ones included). A page that is mostly boilerplate is dropped with rule ``max_chars_removed_share`` or ``min_kept_han_chars`` (profile
section ``lines:``); a Latin-script page (``lang`` not zh, see ``textstats.is_latin_doc``) with
``min_kept_words`` instead. A page with a single line (a paragraph, an instruction) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from datatrove.data import Document

from jinglian.corpus.filters.rules import RuleFilter, RuleSpec
from jinglian.corpus.filters.textstats import (
    HAN_RE,
    LATIN_WORD_RE,
    TERMINAL_PUNCTUATION,
    both_scripts,
    is_latin_doc,
    non_empty_lines,
)

# Short lines (< short_boilerplate_chars) with one of these are site furniture, not prose.
BOILERPLATE_RE = re.compile(both_scripts(
    r"上一篇|下一篇|上一页|下一页|上一章|下一章|上一条|下一条|返回顶部|返回列表|返回首页|返回目录"
    r"|当前位置|您的位置|你的位置|所在位置|您现在的位置|首页\s*[>»›/＞]|[>»›＞]\s*正文"
    r"|扫一扫|扫码|关注我们|关注微信|微信公众号|公众号|分享到|分享至|一键分享|收藏本站|加入收藏|设为首页"
    r"|联系我们|关于我们|网站地图|友情链接|免责声明|隐私政策|用户协议|法律声明|服务条款|意见反馈"
    r"|登录|登陆|注册|忘记密码|会员中心|个人中心|退出|客服热线|服务热线|咨询热线|在线客服|在线咨询"
    r"|联系电话|电\s*话[:：]|手\s*机[:：]|地\s*址[:：]|邮\s*编|传\s*真|E-?mail|邮箱[:：]"
    r"|责任编辑|编辑[:：｜|]|作者[:：]|来源[:：]|发布时间|发布日期|更新时间|发表于|浏览次数|阅读次数|浏览[:：(（]"
    r"|阅读[(（:：]|点击[:：数量(（]|评论[(（:：]|点赞|热门标签|标签[:：]|关键词[:：]|关键字[:：]|tags?[:：]"
    r"|相关文章|相关阅读|相关推荐|推荐阅读|热门推荐|热门文章|最新文章|猜你喜欢|随便看看|精彩推荐|延伸阅读"
    r"|更多\s*[>»]|查看更多|阅读全文|点击查看|展开全文|打印本页|关闭窗口|字号|字体大小|本文地址|本文链接"
    r"|版权所有|copyright|©|备案|all rights reserved|powered by|技术支持|网站建设|主办单位|承办单位"
    r"|登入|注册|会员|讨论区"
    # comment sections and ad slots of news portals: reply/report buttons, commenter tags, ad labels
    r"|回复|举报|负反馈|不感兴趣|条评论|文明上网|理性发言|了解详情|查看详情|查看原图|广告"
    r"|\S{2,4}网友$|^用户\d{4,}$|^[+＋]\s*关注$|^关注$"
    # web-novel reader chrome: bookmarks, votes, chapter index, paging prompts
    r"|加入书签|加入书架|投推荐票|推荐本书|章节目录|返回书页|本章未完|点击下一页继续阅读|最新章节|全文阅读|txt下载"),
    re.I,
)
# Footer marks that make a line boilerplate at any length.
FOOTER_RE = re.compile(both_scripts(
    r"版权所有|copyright\s*(?:©|\(c\)|\d{4})|©\s*\d{4}|icp\s*[备证]|公网安备|all rights reserved|powered by"),
    re.I,
)
# What is left of a "numbers and dates" line once these are removed: nothing.
_NUMERIC_RE = re.compile(r"[\d\s\W_年月日时分秒星期周天点号第页共条次一二三四五六七八九十]+")
_MENU_SPLIT_RE = re.compile(r"\s*[|｜·•/]\s*|\s+")
_TEASER_END = ("...", "…", "……", "。。。", "..")
# A list item with its date: "2020-01-19·某某新闻标题", "某某新闻标题 2022-06-27", "标题...10-30 12:49".
_DATE = r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2})"
# Bounded (the lines it judges are under 60 characters): a lazy .+? before \s* was quadratic.
_DATED_ITEM_RE = re.compile(
    rf"^[\[(（]?{_DATE}[\])）]?\s{{0,4}}[·:：|\-]?\s{{0,4}}(?P<a>.+)$"
    rf"|^(?P<b>.{{1,80}}?)\s{{0,4}}[\[(（]?{_DATE}(?:\s{{1,4}}\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?[\])）]?$"
)
# Where a title's site name starts: " - 站点", "｜站点", "|站点", or "_站点". An underscore is part of
# an identifier (__init__, max_length) when it is doubled or has ASCII letters or digits on both
# sides; only a lone one between other characters separates (标题_栏目_站点, 用法_CSDN博客).
_TITLE_SEPARATOR_RE = re.compile(
    r"\s[-–—|｜]\s|｜|\||(?<![_A-Za-z0-9])_(?!_)|(?<!_)_(?![_A-Za-z0-9])"
)
_LETTER_RE = re.compile(r"[A-Za-z\u3400-\u9fff]")
# A count or footnote mark right after a line's closing punctuation: "出口。12", "而成。[1][3]".
_TRAILING_MARK_RE = re.compile(r"(?<=[。！？!?…”」』])\s*(?:\d{1,4}|(?:\[\d{1,3}(?:[-–,]\d{1,3})?\])+)$")
_PHRASE_LEAD_CHARS = 4  # a boilerplate phrase this near a sentence's start makes it furniture
_CLAUSE_END = ("，", ",", "；", "、")
_VERSE_MAX_LINES = 8  # clause lines before the sentence must end: longer runs are not one sentence
_VERSE_MIN_LETTERS = 4  # letters in each line of a broken sentence (a five-character verse line has 5)


def title_without_site(line: str) -> str:
    """A page title without the site name after its first separator (the whole line if none)."""
    found = _TITLE_SEPARATOR_RE.search(line)
    return (line[: found.start()].rstrip() if found else line) or line


def _letters(line: str) -> int:
    return len(_LETTER_RE.findall(line))


def _lines_and_paragraphs(text: str) -> tuple[list[str], list[bool]]:
    """The non-empty stripped lines (as ``non_empty_lines``) and, for each, whether a blank line
    came before it: where a paragraph starts."""
    lines, starts, blank = [], [], False
    for raw in text.split("\n"):
        line = raw.strip()
        if line:
            lines.append(line)
            starts.append(blank and len(lines) > 1)
            blank = False
        else:
            blank = True
    return lines, starts


def _join_paragraphs(lines: list[str], keep: list[bool], paragraph_starts: list[bool]) -> str:
    """The kept lines, a blank line between two of them wherever the page had one between them
    (a removed line in between does not erase it): paragraph breaks survive cleaning."""
    parts: list[str] = []
    gap = False
    for line, k, start in zip(lines, keep, paragraph_starts, strict=True):
        gap = gap or start
        if k:
            if parts:
                parts.append("\n\n" if gap else "\n")
            parts.append(line)
            gap = False
    return "".join(parts)


class LineCleaner(RuleFilter):
    """Datatrove step: remove boilerplate lines, record what went, drop pages that were mostly that."""

    name = "lines"
    RULES = {
        "max_chars_removed_share": RuleSpec("removed / all non-whitespace characters", "measured"),
        "min_kept_han_chars": RuleSpec("Han characters left after cleaning", "measured"),
        "min_kept_words": RuleSpec("Latin words left after cleaning (Latin-script documents)", "Gopher: 50"),
    }

    def __init__(
        self,
        rules: Mapping[str, float | int | None] | None = None,
        short_boilerplate_chars: int = 40,
        min_prose_chars: int = 8,
        long_line_chars: int = 60,
        menu_min_items: int = 3,
        menu_max_item_chars: int = 8,
        teaser_min_lines: int = 3,
        max_short_run: int = 10,
        clipped_min_chars: int = 50,
        clipped_min_lines: int = 5,
        rejects_dir: str | None = None,
    ):
        super().__init__(rules, rejects_dir)
        self.short_boilerplate_chars = short_boilerplate_chars
        self.min_prose_chars = min_prose_chars
        self.long_line_chars = long_line_chars
        self.menu_min_items = menu_min_items
        self.menu_max_item_chars = menu_max_item_chars
        self.teaser_min_lines = teaser_min_lines
        self.max_short_run = max_short_run
        self.clipped_min_chars = clipped_min_chars
        self.clipped_min_lines = clipped_min_lines

    # -- classes of lines -------------------------------------------------------------------------
    def is_boilerplate(self, line: str) -> bool:
        if FOOTER_RE.search(line):
            return True
        if not _NUMERIC_RE.sub("", line):
            return True
        if len(line) < self.short_boilerplate_chars:
            match = BOILERPLATE_RE.search(line)
            # in a sentence the phrase is a word ("台风在广东登陆。", "在新区注册，正在建设。");
            # site furniture starts with it ("登录后可查看全文。", "【上一篇】……")
            if match and (match.start() <= _PHRASE_LEAD_CHARS or not self.is_sentence(line)):
                return True
        return self.is_menu(line)

    def is_sentence(self, line: str) -> bool:
        return line.endswith(TERMINAL_PUNCTUATION) and _letters(line) >= self.min_prose_chars

    def is_menu(self, line: str) -> bool:
        if line.endswith(TERMINAL_PUNCTUATION) or "，" in line or "。" in line:
            return False
        items = [item for item in _MENU_SPLIT_RE.split(line) if item]
        if len(items) < self.menu_min_items:
            return False
        return sum(len(item) for item in items) / len(items) <= self.menu_max_item_chars

    def is_prose(self, line: str) -> bool:
        return len(line) >= self.long_line_chars or self.is_sentence(line)

    @staticmethod
    def is_teaser(line: str) -> bool:
        return line.endswith(_TEASER_END) and len(line) >= 10

    @staticmethod
    def is_dated_item(line: str) -> bool:
        """A short line that is a title with a numeric date before or after it (a news list)."""
        if len(line) >= 60:
            return False
        match = _DATED_ITEM_RE.match(line)
        return bool(match) and _letters(match.group("a") or match.group("b") or "") >= 4

    def clipped_lengths(self, lines: list[str]) -> set[int]:
        """Lengths shared by ``clipped_min_lines`` or more unpunctuated lines of at least
        ``clipped_min_chars`` characters: teasers a site cut at a fixed length (no ``...``)."""
        counts: dict[int, int] = {}
        for line in lines:
            if len(line) >= self.clipped_min_chars and not line.endswith(TERMINAL_PUNCTUATION):
                counts[len(line)] = counts.get(len(line), 0) + 1
        return {n for n, c in counts.items() if c >= self.clipped_min_lines}

    @staticmethod
    def broken_sentences(lines: list[str], kinds: list[str]) -> None:
        """Mark as prose the short lines that make one sentence: ``A，`` ... ``B。`` (verse)."""
        i = 0
        while i < len(lines):
            j = i
            while (
                j < len(lines) and j - i < _VERSE_MAX_LINES and kinds[j] != "boilerplate"
                and lines[j].endswith(_CLAUSE_END) and _letters(lines[j]) >= _VERSE_MIN_LETTERS
            ):
                j += 1
            ends = (
                j > i and j < len(lines) and kinds[j] != "boilerplate"
                and lines[j].endswith(TERMINAL_PUNCTUATION) and _letters(lines[j]) >= _VERSE_MIN_LETTERS
            )
            if ends:
                for k in range(i, j + 1):
                    kinds[k] = "prose"
            i = j + 1 if ends else i + 1

    def clean(self, text: str) -> tuple[list[str], list[str]]:
        """(kept lines, removed lines) of ``text``; a one-line text is kept whole."""
        return self.clean_lines(non_empty_lines(text))

    def clean_lines(self, lines: list[str]) -> tuple[list[str], list[str]]:
        """:meth:`clean` on the text's non-empty, stripped lines."""
        lines, keep = self.sort_lines(lines)
        kept = [line for line, k in zip(lines, keep, strict=True) if k]
        return kept, [line for line, k in zip(lines, keep, strict=True) if not k]

    def sort_lines(self, lines: list[str]) -> tuple[list[str], list[bool]]:
        """(the lines with marks and the title's site name cut, keep or not for each line)."""
        lines = [_TRAILING_MARK_RE.sub("", line) for line in lines]
        if len(lines) < 2:
            return lines, [True] * len(lines)
        teasers = sum(1 for line in lines if self.is_teaser(line)) >= self.teaser_min_lines
        dated = sum(1 for line in lines if self.is_dated_item(line)) >= self.teaser_min_lines
        clipped = self.clipped_lengths(lines)
        kinds = []
        for line in lines:
            if (
                self.is_boilerplate(line)
                or (teasers and self.is_teaser(line))
                or (dated and self.is_dated_item(line))
                or len(line) in clipped
            ):
                kinds.append("boilerplate")
            else:
                kinds.append("prose" if self.is_prose(line) else "short")
        self.broken_sentences(lines, kinds)
        next_kind = "end"  # walk backwards so each short line knows what follows it
        keep = [False] * len(lines)
        for i in range(len(lines) - 1, -1, -1):
            if kinds[i] == "prose":
                keep[i] = True
            elif kinds[i] == "short":
                keep[i] = next_kind == "prose" or i == 0
            if kinds[i] != "boilerplate":
                next_kind = kinds[i] if keep[i] or kinds[i] == "prose" else "short"
        # A run of at most max_short_run short lines between two prose lines is part of the text
        # (a list, a table, a dialogue), not a menu: menus come before or after the prose.
        run: list[int] = []
        seen_prose = False
        for i, kind in enumerate(kinds):
            if kind == "short":
                run.append(i)
            elif kind == "prose":
                if seen_prose and len(run) <= self.max_short_run:
                    for j in run:
                        keep[j] = True
                run, seen_prose = [], True
        if keep[0] and kinds[0] != "prose":  # the title: drop the site name, or all of it if repeated
            title = title_without_site(lines[0])
            if any(title in lines[i] for i in [i for i in range(1, len(lines)) if keep[i]][:4]):
                keep[0] = False
            else:
                lines[0] = title
        return lines, keep

    def statistics(self, doc: Document) -> Iterator[tuple]:
        lines, paragraph_starts = _lines_and_paragraphs(doc.text)
        cut, keep = self.sort_lines(lines)
        kept = [line for line, k in zip(cut, keep, strict=True) if k]
        removed = [line for line, k in zip(cut, keep, strict=True) if not k]
        removed_chars = sum(len(re.sub(r"\s", "", line)) for line in removed)
        kept_text = _join_paragraphs(cut, keep, paragraph_starts)
        total = removed_chars + len(re.sub(r"\s", "", kept_text))
        if removed or kept != lines:  # lines dropped, or marks / a title's site name cut
            doc.text = kept_text  # downstream rules, dedup and training see the cleaned text
        # run totals in the step's datatrove stats (logs/stats/*.json), for the filter summary
        self.stat_update("lines_removed", value=len(removed))
        self.stat_update("chars_removed", value=removed_chars)
        self.stat_update("chars_seen", value=total)
        yield "lines_removed", len(removed)
        yield "chars_removed_share", removed_chars / total if total else 0.0
        latin = is_latin_doc(doc.metadata)  # an English page is judged by its words, not its Han
        yield "kept_han_chars", len(HAN_RE.findall(kept_text)), not latin
        yield "kept_words", len(LATIN_WORD_RE.findall(kept_text)), latin
