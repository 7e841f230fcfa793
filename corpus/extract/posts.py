"""Threads, reply lists and comment lists: every post's text, in page order, without its chrome.

A thread is recognised from its structure, not from its site: a run of **sibling blocks of one
kind** (same tag, same class or id once digits are removed: ``post_123`` and ``post_124`` are one
kind) under one parent, most of which carry the marks of a post, a time (``2024-4-5 23:20``,
``3 天前``), a floor (``2楼``, ``沙发``, ``#3``) or a button (回复, 引用, 举报, 赞). Discuz
(``div#post_N``), Tieba (``div.l_post``), phpBB (``div.post``), Douban comments (``div.comment-item``),
Q&A answer lists and blog comment lists all have that shape; an article's paragraphs do not (``p``
is no container, and paragraphs carry no times or buttons).

Inside each post the chrome goes, line by line, by kinds that hold on every forum software:

- lines that recur in most posts of the run once the post's own link texts (names, buttons) and
  digits are taken out: what the template prints in every post (levels, ``当前离线``,
  ``30 有用``, ``张三 看过 ★★★★``, button rows);
- short lines that are the text of a link (user names, buttons) or hold no Hanzi (counters, ``#3``);
- short lines made of chrome words (积分, 楼主, 只看该作者, 点赞 ...) or a time and no sentence
  (post headers: ``楼主 发表于 2024-4-5 23:20``, quote headers: ``张三 发表于 2024-4-5 10:00``),
  and lines of up to 48 characters with at most two left once the times, floors, chrome words,
  digits and signs are gone (``12 天前发布 #1 2024年5月15日星期三 20点20分``);
- reply headers (``张三:``) and the place line platforms print under a name (``浙江省杭州市``);
- signatures, avatars and ``<script>``/``<style>`` elements before any text is read (buttons stay
  until then: their words mark a post).
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass

from jinglian.corpus.extract.candidates import HAN, squash

CONTAINERS = {"div", "li", "article", "section", "table", "tbody", "tr", "td", "dd", "dl"}
_BLOCK_TAGS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "dd", "dt", "td",
               "article", "section", "blockquote", "pre", "ul", "ol", "header", "footer"}  # fmt: skip
_NOT_TEXT = {"script", "style", "noscript", "template", "textarea", "select", "svg", "iframe"}
# class / id words of per-post parts that are never the post: signatures and avatars
_CHROME_CLASS = re.compile(r"sign(ature)?\b|signature|avatar|j_user_sign|user[-_]?card", re.I)
_DIGITS = re.compile(r"\d+")
# Every repeat is bounded (\d{1,6}, \s{0,3}): these run on whole posts, and an unbounded \d+ before
# a suffix that is not there is quadratic on a long run of digits.
TIME = re.compile(
    r"\d{4}\s{0,3}[-/.年]\s{0,3}\d{1,2}\s{0,3}[-/.月]\s{0,3}\d{1,2}日?|\b\d{1,2}:\d{2}\b|\d{1,2}-\d{1,2}\s{1,3}\d{1,2}:\d{2}"
    r"|\d{1,6}\s{0,3}(?:秒|分钟|小时|天|周|个月|月|年)前|\d{1,2}点\d{1,2}分|(?:星期|周|礼拜)[一二三四五六日天]|刚刚|昨天|前天"
)
FLOOR = re.compile(r"\d{1,6}\s{0,3}[楼樓#]|#\s?\d{1,6}|楼主|樓主|沙发|板凳|地板|楼层")
BUTTON = re.compile(r"回复|回覆|回应|引用|举报|舉報|点赞|赞同|赞|收藏|分享|评论|有用")
MARK = re.compile(f"{TIME.pattern}|{FLOOR.pattern}|{BUTTON.pattern}")  # any of the three, one pass
# words of per-post chrome lines: user levels and counters, post headers, buttons
CHROME_WORDS = re.compile(
    r"积分|帖子|主题|精华|威望|金钱|贡献|等级|注册|在线|离线|发消息|加好友|关注|粉丝|阅读|浏览|"
    r"回复|回覆|回应|引用|举报|舉報|点赞|赞同|赞|踩|收藏|分享|评论|有用|没用|楼主|樓主|沙发|板凳|地板|楼层|"
    r"只看该作者|只看|倒序|电梯|发表于|發表於|发布于|发布|编辑|展开|收起|复制链接|打印|来自"
)
# what is left of a line once its times, floors, chrome words, digits and signs are gone
_RESIDUE = re.compile(f"{TIME.pattern}|{FLOOR.pattern}|{CHROME_WORDS.pattern}|[年月日号时点分秒\\d\\W_]")
MAX_RESIDUE = 2  # characters; a line with no more than this left is a post header or a button row
SENTENCE = re.compile(r"[。！？!?；;，,]")
# a reply header ("张三:") and the place line Chinese platforms print under a name (IP属地 浙江省杭州市)
NAME_COLON = re.compile(r"\S{1,20}[:：]")
PLACE = re.compile(
    r"(?:IP属地|来自)?[:：\s-]*[\u4e00-\u9fff]{1,8}(?:省|市|自治区|特别行政区)(?:[\u4e00-\u9fff]{1,6}[市区县])?"
)
MIN_POSTS = 2  # a run of one block is no list
POST_MIN_HAN = 2  # Hanzi of the content of a post ("顶", "同意" are replies too, but need two)
MARKED_SHARE = 0.5  # share of a run's blocks with a time, floor or button: posts, not paragraphs
MAX_LINK_SHARE = 0.5  # share of a block's characters inside <a>: above it, a menu or a link list
REPEATED_SHARE = 0.5  # a line shape in at least this share of the posts (and two) is chrome
CHROME_LINE = 24  # characters; a longer line is text even when it holds a chrome word or a time
SHORT_LINE = 10  # characters; a shorter line without Hanzi or that is a link text is chrome


@dataclass
class Thread:
    items: list[str]  # each post's text without its chrome, in page order
    floors: bool  # whether the posts carry floor numbers (楼, 沙发, #3): a thread, not a comment list

    @property
    def text(self) -> str:
        return "\n".join(self.items)

    @property
    def posts(self) -> int:
        return len(self.items)


def _signature(el) -> tuple[str, str]:
    return el.tag, _DIGITS.sub("", el.get("class") or el.get("id") or "")


def _prepare(tree):
    """The tree without script, style, signatures and avatars, with a line break after every
    block element, so that ``text_content()`` gives one line per block (changed in place)."""
    drop = [
        el
        for el in tree.iter()
        if not isinstance(el.tag, str)
        or el.tag in _NOT_TEXT
        or ((el.get("class") or el.get("id")) and _CHROME_CLASS.search(f"{el.get('class')} {el.get('id')}"))
    ]
    for el in drop:
        if el.getparent() is not None:
            el.drop_tree()
    for el in tree.iter(*_BLOCK_TAGS):
        el.tail = "\n" + el.tail if el.tail else "\n"
    return tree


def _lines(el) -> list[str]:
    return [" ".join(line.split()) for line in el.text_content().splitlines() if line.strip()]


def _shape(line: str, names: list[str]) -> str:
    """A line with its post's own link texts (names, buttons) and its digits taken out: what a
    template prints in every post (``30 有用``, ``张三 看过 ★★★★``) has one shape across them."""
    flat = squash(line)
    for name in names:
        flat = flat.replace(name, "@")
    return _DIGITS.sub("0", flat)


def _is_chrome(line: str, shape: str, repeated: set[str], link_texts: frozenset[str]) -> bool:
    flat = squash(line)
    if len(flat) < SHORT_LINE and (flat in link_texts or not HAN.search(flat)):
        return True
    if NAME_COLON.fullmatch(flat) or PLACE.fullmatch(flat):
        return True
    residue = _RESIDUE.sub("", flat) if len(flat) < 2 * CHROME_LINE else flat
    if len(residue) <= MAX_RESIDUE and residue != flat:
        return True  # only times, floors and chrome words: "12 天前发布 #1 2024年5月15日星期三 20点20分"
    if len(flat) < CHROME_LINE and not SENTENCE.search(line):
        return bool(
            shape in repeated or CHROME_WORDS.search(line) or TIME.search(line) or FLOOR.fullmatch(flat)
        )
    return shape in repeated and len(flat) < 2 * CHROME_LINE  # a long line is text even if it recurs


def _has_hanzi(text: str, n: int) -> bool:
    """At least ``n`` Hanzi, found without counting them all."""
    pos = 0
    for _ in range(n):
        if (found := HAN.search(text, pos)) is None:
            return False
        pos = found.end()
    return True


def _run_posts(members: list, link_texts: frozenset[str]) -> tuple[list[list[str]], int, bool] | None:
    """The posts' content lines of one run of sibling blocks, or None when the run is no post list."""
    raw = [el.text_content() for el in members]  # a cheap first look: most runs are menus or empty
    if sum(_has_hanzi(t, POST_MIN_HAN) for t in raw) < MIN_POSTS:
        return None
    if sum(bool(MARK.search(t)) for t in raw) < MARKED_SHARE * len(members):
        return None
    texts, marked, floors = [], 0, 0
    for el in members:
        lines = _lines(el)
        flat = squash("".join(lines))
        if not flat:
            continue
        names = [n for n in (squash(a.text_content()) for a in el.iter("a")) if n]
        if sum(map(len, names)) > MAX_LINK_SHARE * len(flat):
            continue
        head = "\n".join(lines)
        has_floor = bool(FLOOR.search(head))
        marked += bool(TIME.search(head) or has_floor or BUTTON.search(head))
        floors += has_floor
        names.sort(key=len, reverse=True)
        texts.append([(line, _shape(line, names)) for line in lines])
    if len(texts) < MIN_POSTS or marked < MARKED_SHARE * len(members):
        return None
    seen = Counter(shape for lines in texts for shape in {shape for _, shape in lines})
    repeated = {shape for shape, n in seen.items() if n >= 2 and n >= REPEATED_SHARE * len(texts)}
    posts = [[x for x, shape in lines if not _is_chrome(x, shape, repeated, link_texts)] for lines in texts]
    posts = [p for p in posts if len(HAN.findall("".join(p))) >= POST_MIN_HAN]
    if len(posts) < MIN_POSTS:
        return None
    return posts, sum(len(HAN.findall("".join(p))) for p in posts), floors >= MARKED_SHARE * len(texts)


def find_thread(tree, link_texts: frozenset[str] = frozenset(), in_place: bool = False) -> Thread | None:
    """The page's list of posts (see the module doc), or None when it has none.

    The tree is copied first, unless ``in_place`` (the caller's last use of it: saves the copy).

    Every parent's children are grouped by kind; each group of :data:`MIN_POSTS` or more that
    passes as posts competes on its Hanzi after the chrome is gone: nested replies lose to the
    list that holds them, and a wrapper of the list and a sidebar is no run (the sidebar's links).
    """
    tree = _prepare(tree if in_place else copy.deepcopy(tree))
    runs = []
    for parent in tree.iter():
        groups: dict[tuple[str, str], list] = {}
        for child in parent:
            if isinstance(child.tag, str) and child.tag in CONTAINERS:
                groups.setdefault(_signature(child), []).append(child)
        for members in groups.values():
            if len(members) >= MIN_POSTS and (found := _run_posts(members, link_texts)):
                runs.append(found)
    if not runs:
        return None
    posts, _, floors = max(runs, key=lambda r: r[1])
    return Thread(["\n".join(post) for post in posts], floors)
