"""One page's main text from several extractors: cheap candidates first, a selector, two page kinds.

1. resiliparse (1.6 ms) and readability (4 ms) always run.
2. trafilatura (11 ms, ``fast``) runs only where those two leave doubt: readability found almost
   nothing (< :data:`MIN_HAN` Hanzi), or resiliparse holds prose readability lacks (more than
   :data:`MAX_PROSE_GAIN` of its Hanzi, in lines that are not link texts). On the dev pages that
   is 6 of 41. Plain disagreement is no doubt: resiliparse keeps menus readability rightly drops,
   and related-article headlines look like prose but are link texts.
3. ``readability+confirmed``: where readability is a fragment, i.e. resiliparse *and*
   trafilatura both hold prose lines it lacks and those add more than :data:`FRAGMENT_GAIN` of
   its length, the lines are added back and this candidate *replaces* readability's (a hand
   rule, not learned: two independent extractors agreeing on missing prose is the evidence; one
   dev page, a GBK admission notice, F1 0.68 -> 0.95).
4. The page's thread (:func:`jinglian.corpus.extract.posts.find_thread`): runs of sibling blocks
   with times, floors or buttons, each post without its chrome; found from structure on any page.
5. The selector (:mod:`jinglian.corpus.extract.select`) scores the candidates that hold
   :data:`MIN_HAN` Hanzi (all of them if none does); the best wins. readability is the default
   (a fixed prior), the others are fallbacks it switches to when readability's text looks like a
   fragment, a menu or boilerplate.
6. Threads: on a page that reads as one (URL words such as bbs, thread, topic, question, faq;
   markers such as 楼主 / 发表于; or floor numbers in its posts) the text is the chosen text's prose
   lines the posts lack (an opening post or question outside the list), then the posts. Elsewhere
   a list of :data:`MIN_LIST` posts or more replaces the chosen text when it is that text without
   its chrome or the text spans two of its posts (archives, review lists); comments under an
   article are added after it only with ``comments`` (off by default: the article sets' gold
   leaves them out, and keeping them cost 0.07 F1 on the modern articles, ``bench/extract.py --comments``).
7. List pages: when the chosen text is mostly link texts (bullets and dates aside) or short lines
   without punctuation (a menu), only its prose lines are kept, else the page title: ``page_kind``
   is ``list``, so a filter downstream can drop it, and no menu reaches the corpus as text.
8. Other texts lose the editor credits and tag lines at their end (:func:`trim_tail`).
9. Never empty where a candidate holds prose: a result that is empty or holds no sentence
   (a copyright line, a title) gives way to the candidate with the most prose (``(fallback)``).

Everything that decided is returned: ``extractor`` (the winner), ``extract_scores`` (selector
score per candidate), ``page_kind`` (``article``, ``forum`` or ``list``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from jinglian.corpus.extract.candidates import (
    COVERED,
    EXTRACTORS,
    HAN,
    ZH_PUNCT,
    bigram_set,
    is_prose,
    readability_text,
    squash,
    widen,
)
from jinglian.corpus.extract.posts import Thread, find_thread
from jinglian.corpus.extract.select import (
    BOILERPLATE,
    PageSignals,
    Selector,
    candidate_features,
    is_link_line,
    text_counts,
    text_features,
)

MIN_HAN = 30  # Hanzi; below this readability's text is taken as a miss
LONG_TEXT = 1000  # characters; a text this long is counted once per page (select.text_counts), not per rule
# When trafilatura (the slowest candidate) is asked for a third opinion. From the dev pages: at
# this value the leave-one-out F1 is what it is with trafilatura on every page.
MAX_PROSE_GAIN = 0.15  # Hanzi in resiliparse's prose lines that readability lacks, per readability Hanzi
FRAGMENT_GAIN = 0.5  # confirmed missing prose, as a share of readability's Hanzi, that makes it a fragment
MIN_LIST = 3  # posts; two blocks of one kind are as often an article's layout (two table rows)
LIST_LINKS = 0.5  # share of characters in link-text lines above which a text is a link list
LIST_SHORT_LINES = 0.7  # share of short lines (with punctuation below LIST_PUNCT) of a menu-like text
LIST_PUNCT = 0.3  # Chinese punctuation per Hanzi x10; prose has about 1.2
# Q&A sites (question, answer, faq, ask, 问答 wenda / zhidao) are threads too: a question and its answers.
FORUM_URL = re.compile(
    r"bbs|forum|thread|topic|tid[=-]|dispbbs|showtopic|club\.|question|answer|faq|/ask|wenda|zhidao",
    re.I,
)
# Words of thread pages; 沙发 (sofa, "first reply") and 楼层 (floor) also appear on shop and house pages.
FORUM_MARKERS = re.compile(r"楼主|樓主|发表于|發表於|回复于|只看该作者|回帖")
MIN_FORUM_MARKERS = 3
# The end of an article: editor credits, "back to the site" links and tag labels (see trim_tail).
CREDIT = re.compile(
    r"^\s*[（(\[【]?\s*(责任编辑|编辑|责编|审核|校对)\s*[：:].{0,12}[)）\]】]?\s*$|返回.{1,8}[，,]?\s*查看更多\s*$"
)
TAG_LABEL = re.compile(r"^(关键字|关键词|标签)\s*[：:]")
TAIL_LINES = 3  # lines from the end where a tag label may start
SHORT_TAG = 20  # characters of a line of tags after the label
MAX_CREDIT = 40  # characters; a longer last line is text, not a credit


@dataclass
class PageText:
    text: str
    extractor: str
    scores: dict[str, float]
    page_kind: str


def _han(text: str) -> int:
    return text_counts(text)[1] if len(text) > LONG_TEXT else len(HAN.findall(text))


def looks_like_forum(html: str, url: str | None) -> bool:
    return bool(url and FORUM_URL.search(url)) or len(FORUM_MARKERS.findall(html)) >= MIN_FORUM_MARKERS


# libxml2 stops nesting at 256 levels; a page that deep is pathological, and resiliparse's
# main-content pass is quadratic in it (37 s on 50,000 nested divs), so it is skipped there.
_TOO_DEEP = "boolean(/" + "/".join(["*"] * 250) + ")"


def candidates(
    html: str, url: str | None, tree, links: frozenset[str] = frozenset()
) -> tuple[dict[str, str], Thread | None]:
    """The candidate texts of a page, running the slower extractors only where needed (see above),
    and its thread (:func:`find_thread`, None on most articles); ``links`` are the page's link
    texts (:class:`PageSignals`), never taken for missing prose. ``tree`` is changed (the
    thread finder takes out scripts and signatures): parse again to use it afterwards."""
    deep = bool(tree.xpath(_TOO_DEEP))
    texts = {
        "resiliparse": "" if deep else EXTRACTORS["resiliparse"](html, url),
        "readability": readability_text(html, url, copy.deepcopy(tree)),
    }
    readability, resiliparse = texts["readability"], texts["resiliparse"]
    wider = widen(readability, resiliparse, links=links)
    prose_gain = (_han(wider) - _han(readability)) / (_han(readability) + 1)
    if _han(readability) < MIN_HAN or prose_gain > MAX_PROSE_GAIN:
        texts["trafilatura"] = EXTRACTORS["trafilatura"](html, url)
        confirmed = widen(readability, resiliparse, witness=texts["trafilatura"], links=links)
        if _han(confirmed) - _han(readability) > FRAGMENT_GAIN * _han(readability):
            texts["readability+confirmed"] = confirmed
            del texts["readability"]
    thread = None if deep else find_thread(tree, links, in_place=True)  # the tree's last use
    if thread is not None:
        texts["posts"] = thread.text
    return {name: text for name, text in texts.items() if text.strip()}, thread


def prose_han(text: str) -> int:
    """Hanzi in the lines of a text that read as sentences (a Chinese punctuation mark), the measure
    of "holds prose" for the fallback: a menu or a copyright line has none."""
    return sum(_han(line) for line in text.splitlines() if ZH_PUNCT.search(line))


def trim_tail(text: str) -> str:
    """The text without the credits and tag lines Chinese news pages end their article with:
    ``（责任编辑：张三）``, ``编辑：李四``, ``返回搜狐，查看更多``, a ``关键字：`` label and its
    few short tags. Only at the end and only short lines, so a sentence that mentions an editor stays."""
    lines = text.rstrip().splitlines()
    flat = [line.strip() for line in lines]  # judged stripped, kept as they were
    for i in range(max(len(lines) - TAIL_LINES, 0), len(lines)):
        if TAG_LABEL.match(flat[i]) and all(
            len(t) < SHORT_TAG and not ZH_PUNCT.search(t) for t in flat[i + 1 :]
        ):
            del lines[i:], flat[i:]
            break
    while flat and (
        not flat[-1]
        or (
            len(flat[-1]) < MAX_CREDIT
            and all(CREDIT.search(part) for part in re.split(r"(?<=[)）\]】])", flat[-1]) if part.strip())
        )
    ):
        lines.pop()
        flat.pop()
    return "\n".join(lines)


def _list_remainder(text: str, signals: PageSignals) -> str:
    kept = [
        line.strip()
        for line in text.splitlines()
        if is_prose(line) and not is_link_line(squash(line), signals.link_texts)
    ]
    return "\n".join(kept) or signals.title


def _uncovered(text: str, other: str) -> list[str]:
    """The lines of ``text`` that ``other`` does not already hold (by character bigrams)."""
    covered = bigram_set(other)
    return [
        line.strip()
        for line in text.splitlines()
        if (grams := bigram_set(line)) and len(grams & covered) < COVERED * len(grams)
    ]


def _prose_han(lines: list[str]) -> int:
    return sum(_han(line) for line in lines if is_prose(line) and not BOILERPLATE.search(line))


def _same_text(text: str, posts: str) -> bool:
    """The posts hold all the prose of the chosen text and add none: the text is the list of posts
    with its chrome (names, places, times, buttons), and the posts are the same without it."""
    return _prose_han(_uncovered(text, posts)) < MIN_HAN and _han("".join(_uncovered(posts, text))) < MIN_HAN


def _spans_posts(text: str, thread: Thread) -> bool:
    """The chosen text holds most of two posts or more and no prose outside them: it is a part of
    the list (an archive, a thread), not one article among comments, so the whole list is the text."""
    chosen = bigram_set(text)
    spanned = sum(len(bigram_set(item) & chosen) >= COVERED * len(bigram_set(item)) for item in thread.items)
    return spanned >= 2 and _prose_han(_uncovered(text, thread.text)) < MIN_HAN


def with_posts(text: str, posts: str, forum: bool) -> str:
    """A thread: the chosen text's lines the posts lack (an opening post, a question outside the
    list of replies) when they hold prose, then the posts; a menu or a footer that the selector
    took for the text goes. Elsewhere (an article and its comments): the text, then the posts'
    lines it lacks."""
    if forum:
        opening = _uncovered(text, posts)
        return "\n".join([*opening, posts] if _prose_han(opening) >= MIN_HAN else [posts])
    return "\n".join([text.rstrip(), *_uncovered(posts, text)])


def choose(
    texts: dict[str, str],
    signals: PageSignals,
    selector: Selector,
    forum: bool,
    comments: bool = False,
    thread: Thread | None = None,
) -> PageText | None:
    """Score the candidates, pick one, then apply the thread, list and fallback rules.

    Only candidates with :data:`MIN_HAN` Hanzi compete when any has them: a few words (a
    copyright line, an empty template) are never trusted over a text. ``forum``: the page
    looks like a thread (URL, markers, floor numbers); there the posts the chosen text lacks are
    added after it, as they are on other pages when ``comments`` is set. Elsewhere, a ``thread``
    of :data:`MIN_LIST` posts or more wins when it is the chosen text without its chrome, or when
    the chosen text spans two of its posts (an archive, a list of reviews).
    """
    posts = texts.get("posts", "")
    texts = {name: text for name, text in texts.items() if name != "posts"}
    if not texts and not posts:
        return None
    trusted = {name: text for name, text in texts.items() if _han(text) >= MIN_HAN} or texts
    kind = "forum" if forum else "article"
    features = candidate_features(trusted, signals, selector.used()) if trusted else {}
    name, scores = selector.choose(features) if features else (next(iter(trusted), "posts"), {})
    text = posts if name == "posts" else trusted[name]
    if posts and name != "posts" and (forum or comments):
        combined = with_posts(text, posts, forum)
        if combined != text:
            name, text = ("posts" if not _uncovered(combined, posts) else f"{name}+posts"), combined
    elif posts and name != "posts" and thread and thread.posts >= MIN_LIST:
        if _same_text(text, posts) or _spans_posts(text, thread):
            name, text, kind = "posts", posts, "forum"  # the chosen text is (part of) the list
    f = text_features(text, signals)
    menu = f["links"] >= LIST_LINKS or (f["short_lines"] >= LIST_SHORT_LINES and f["punct"] < LIST_PUNCT)
    if menu and "posts" not in name:  # short replies are short lines, and posts hold no link lists
        text, kind = _list_remainder(text, signals), "list"
    if kind != "list":
        text = trim_tail(text)
    if not text.strip() or (kind != "list" and prose_han(text) == 0):
        # never empty (nor a line of chrome) where a candidate holds sentences: the one with the most
        every = {**texts, "posts": posts}
        richest = max(every, key=lambda n: prose_han(every[n]))
        if prose_han(every[richest]) > 0:
            name, text = f"{richest} (fallback)", every[richest]
    if not text.strip():
        return None
    return PageText(text, name, scores, kind)
