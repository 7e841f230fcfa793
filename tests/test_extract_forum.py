"""Threads, reply lists, comment sections and review lists through the real extractors.

Every page here is written for these tests (invented sites, users and text), shaped like the kind
it stands for: a Discuz-style thread (user panel with level and points, floor numbers, a quote box
with its header, a signature, 回复/引用/举报 buttons), a Tieba-style reply list (author column,
level badge, tail line with floor and time), a news article with a comment section under it, and
a Douban-style review list (user, rating, date, "有用" counts). Each test checks that every post's
text is kept exactly once and that the per-post chrome is gone.
"""

from __future__ import annotations

from datatrove.data import Document

from jinglian.corpus.extract import MainTextExtractor, extract_main_text
from jinglian.corpus.extract.candidates import document_start
from jinglian.corpus.extract.charset import decode_html
from jinglian.corpus.extract.page import choose
from jinglian.corpus.extract.select import FEATURES, PRIORS, PageSignals, Selector

MENU = "".join(
    f'<li><a href="/f/{i}">{w}</a></li>' for i, w in enumerate("首页 社区 问答 活动 排行 帮助".split())
)
FOOT = '<div class="ft">Copyright © 2008-2024 示例社区 版权所有 <a href="/about">关于我们</a> 沪ICP备0800000号</div>'
REPLIES = [
    "周末去了一趟西湖边的茶园，明前龙井已经开始采了，价格比去年略高一些，大概每斤贵了两百左右。",
    "请问楼主是在梅家坞还是龙井村买的？我去年在龙井村被坑过一次，说是明前茶，回家一泡全是碎末。",
    "梅家坞，找的是朋友介绍的茶农，当面炒的。建议大家别在景区门口的店里买，尽量去村子里面找自家炒茶的人家。",
    "收藏了，下个月正好要去杭州出差，顺便带点茶叶回去给父母。",
    "今年雨水多，听说头茬茶的香气没有往年足，有没有懂行的朋友说说？",
]
USERS = ["茶香四溢", "西湖边的猫", "老陈说茶", "江南雨", "清风明月"]


def _page(body: str, title: str) -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><div class="hd"><ul class="nav">{MENU}</ul><a href="/login">登录</a> <a href="/reg">注册</a></div>
{body}{FOOT}</body></html>"""


def _each_once(text: str, posts: list[str]) -> None:
    for post in posts:
        assert text.count(post) == 1, post


def _no_chrome(text: str, chrome: list[str]) -> None:
    assert not [word for word in chrome if word in text]


def discuz_thread() -> str:
    posts = ""
    floors = ["楼主", "沙发", "板凳", "地板", "5#"]
    for i, (user, reply) in enumerate(zip(USERS, REPLIES, strict=True)):
        quote = (
            f'<div class="quote"><blockquote><font color="#999">{USERS[0]} 发表于 2024-3-2 09:1{i}</font><br>'
            f"{REPLIES[0][:12]}...</blockquote></div>"
            if i == 1
            else ""
        )
        posts += f"""<div id="post_{7000 + i}"><table class="plhin"><tr>
<td class="pls"><div class="authi"><a href="/space/uid-{300 + i}">{user}</a></div>
<dl><dt>积分</dt><dd>{50 * (i + 1)}</dd><dt>帖子</dt><dd>{12 + i}</dd></dl>
<p><em>新手上路</em></p><p><a href="/pm/{300 + i}">发消息</a></p></td>
<td class="plc"><div class="pi"><strong><a href="/redirect?pid={7000 + i}">{floors[i]}</a></strong>
<em>发表于 2024-3-{2 + i} 10:2{i}</em> | <a href="/viewthread?authorid={300 + i}">只看该作者</a></div>
<div class="t_fsz"><table><tr><td class="t_f" id="postmessage_{7000 + i}">{quote}{reply}</td></tr></table></div>
<div class="sign">人生如茶，静心以对 —— {user}的签名档</div>
<div class="po"><a href="/reply?pid={7000 + i}">回复</a> <a href="/quote?pid={7000 + i}">引用</a>
<a href="/report?pid={7000 + i}">举报</a> <span>支持 {3 + i}</span></div></td></tr></table></div>
"""
    body = f"""<div id="pt"><a href="/">示例社区</a> › <a href="/forum-8-1.html">杭州生活</a></div>
<div id="ct"><h1>明前龙井开始采摘了，今年价格怎么样</h1><p>查看: 2318 | 回复: 4</p>
<div id="postlist">{posts}</div><div class="pgs"><a href="/forum-8-1.html">返回列表</a></div></div>"""
    return _page(body, "明前龙井开始采摘了，今年价格怎么样 - 杭州生活 - 示例社区")


def test_discuz_thread_keeps_every_post_once_without_chrome():
    text, meta = extract_main_text(discuz_thread(), "https://bbs.example.cn/thread-1188-1-1.html")
    assert meta["page_kind"] == "forum" and "posts" in meta["extractor"]
    _each_once(text, REPLIES)
    chrome = ["积分", "新手上路", "发消息", "只看该作者", "发表于", "签名档", "回复", "引用", "举报", "支持",
              "沙发", "板凳", "版权所有", "登录", *USERS]  # fmt: skip
    _no_chrome(text, chrome)
    assert text.index(REPLIES[0]) < text.index(REPLIES[1]) < text.index(REPLIES[4])  # page order


SHORT_REPLY = "同意"  # a two-character reply is a post too, not chrome


def tieba_thread() -> str:
    posts = ""
    for i, (user, reply) in enumerate(zip([*USERS, "路人甲"], [*REPLIES, SHORT_REPLY], strict=True)):
        posts += f"""<div class="l_post j_l_post" data-field='{{"pid":{9100 + i}}}'>
<div class="d_author"><ul class="p_author"><li class="icon"><img class="avatar" src="/a/{i}.jpg"></li>
<li class="d_name"><a class="p_author_name" href="/home/main?un={i}">{user}</a></li>
<li class="l_badge"><div class="d_badge_title">茶友</div><div class="d_badge_lv">{8 + i}</div></li></ul></div>
<div class="d_post_content_main"><div class="p_content"><div class="d_post_content j_d_post_content">{reply}</div></div>
<div class="core_reply"><div class="post-tail-wrap"><span class="tail-info">来自Android客户端</span>
<span class="tail-info">{i + 1}楼</span><span class="tail-info">2024-03-0{i + 1} 21:3{i}</span></div>
<a class="lzl_link_unfold" href="#">回复({i})</a></div></div></div>
"""
    body = f"""<div class="card_title"><a class="card_title_fname" href="/f?kw=茶">茶吧</a> 关注 1.2万</div>
<div class="core_title"><h3 class="core_title_txt">明前龙井开始采摘了，今年价格怎么样</h3></div>
<div class="p_postlist" id="j_p_postlist">{posts}</div>
<div class="right_section"><h4>吧内热帖</h4><ul><li><a href="/p/1">新手怎么分辨龙井</a></li>
<li><a href="/p/2">白茶和绿茶哪个好</a></li><li><a href="/p/3">紫砂壶开壶教程</a></li></ul></div>"""
    return _page(body, "明前龙井开始采摘了，今年价格怎么样【茶吧】_百度贴吧")


def test_tieba_reply_list_keeps_every_reply_once_without_chrome():
    text, meta = extract_main_text(tieba_thread(), "https://tieba.example.com/p/8000012345")
    assert meta["page_kind"] == "forum" and "posts" in meta["extractor"]
    _each_once(text, REPLIES)
    assert text.endswith(SHORT_REPLY)
    chrome = [
        "茶友",
        "来自Android客户端",
        "2楼",
        "2024-03-0",
        "回复(",
        "吧内热帖",
        "新手怎么分辨龙井",
        *USERS,
    ]
    _no_chrome(text, chrome)


ARTICLE = [
    "本报讯 3月18日，西湖龙井茶一级保护区内的茶园陆续开采，较去年提前了三天。据当地农业部门介绍，"
    "受前期气温偏高影响，今年茶芽萌发较早，预计明前茶总产量与去年基本持平。",
    "在梅家坞村，不少茶农从清晨五点就开始上山采摘。茶农老陈告诉记者，今年的鲜叶收购价约为每斤三百元，"
    "炒制后的成品茶价格在每斤两千元到四千元之间，品质好的还要更高。",
    "为规范市场秩序，今年起所有保护区内生产的西湖龙井都将使用统一的防伪标识，消费者可以扫码查询产地、"
    "茶农和炒制日期。相关部门提醒，购买时应认准防伪标识，谨防以外地茶冒充。",
]
COMMENTS = [
    "防伪标识这个办法好，早就该这么做了，每年都有人拿外地茶冒充。",
    "两千到四千一斤，普通老百姓真的喝不起，还是买点雨前茶自己喝吧。",
    "去年在梅家坞买过，确实比城里店里的新鲜，今年还去。",
]


def commented_article() -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in ARTICLE)
    items = "".join(
        f"""<div class="comment-item"><div class="c-user"><a href="/u/{i}">{user}</a>
<span class="c-place">浙江</span></div><div class="c-text">{comment}</div>
<div class="c-foot"><span class="c-time">{i + 1}小时前</span> <a href="#">回复</a> <span class="c-like">赞 {12 - i}</span></div></div>"""
        for i, (user, comment) in enumerate(zip(USERS, COMMENTS, strict=False))
    )
    body = f"""<div class="crumb"><a href="/">首页</a> &gt; <a href="/local/">本地</a> &gt; 正文</div>
<div class="main"><h1>西湖龙井明前茶开采 今年首推统一防伪标识</h1>
<div class="info">2024-03-18 15:20 来源：示例晚报</div><div class="article" id="content">{paragraphs}</div>
<div class="comments"><h3>网友评论（{len(COMMENTS)}）</h3><div class="comment-list">{items}</div>
<a href="/comments/all">查看全部评论</a></div></div>"""
    return _page(body, "西湖龙井明前茶开采 今年首推统一防伪标识_示例新闻网")


def test_article_keeps_its_comments_only_when_asked():
    url = "https://news.example.cn/local/2024/03/18/5521.html"
    text, meta = extract_main_text(commented_article(), url)
    assert meta["page_kind"] == "article"
    _each_once(text, ARTICLE)
    _no_chrome(text, COMMENTS)  # the default: comments are no part of the article's text
    text, meta = extract_main_text(commented_article(), url, comments=True)
    _each_once(text, ARTICLE + COMMENTS)
    assert text.index(ARTICLE[-1]) < text.index(COMMENTS[0])  # the article first, then its comments
    _no_chrome(text, ["小时前", "赞 1", "回复", "浙江", "查看全部评论", *USERS[:3]])
    doc = Document(text=commented_article(), id="a", metadata={"url": url})
    assert MainTextExtractor(comments=True).check(doc) is None and COMMENTS[1] in doc.text


REVIEWS = [
    "故事节奏很稳，前半段铺垫有点长，但后面一个小时几乎没有废戏，结尾的反转也算合理。",
    "演员的表演是最大的亮点，尤其是母亲那场戏，一句台词都没有，全靠眼神，看得人心里发酸。",
    "配乐用力过猛，几次煽情的地方音乐一起来就出戏了，其他方面都还不错。",
    "和原著相比删掉了不少支线，节奏是快了，可人物动机也跟着变得有些单薄。",
]


def review_list() -> str:
    items = "".join(
        f"""<div class="comment-item" data-cid="{500 + i}"><div class="avatar"><a href="/people/{i}"><img src="/p/{i}.jpg"></a></div>
<div class="comment"><h3><span class="comment-vote"><span class="votes">{30 - 5 * i}</span> <a href="#">有用</a></span>
<span class="comment-info"><a href="/people/{i}">{user}</a> <span>看过</span> <span class="rating" title="推荐">★★★★</span>
<span class="comment-time">2024-02-{10 + i}</span></span></h3><p class="comment-content"><span class="short">{review}</span></p></div></div>"""
        for i, (user, review) in enumerate(zip(USERS, REVIEWS, strict=False))
    )
    body = f"""<div id="content"><h1>归途 短评</h1><div class="tabs"><a href="?status=P">看过</a> <a href="?status=F">想看</a></div>
<div id="comments" class="mod-bd">{items}</div><div id="paginator"><a href="?start=20">后页 &gt;</a></div></div>
<div class="aside"><h2>热门影评</h2><ul><li><a href="/r/1">一部被低估的家庭片</a></li><li><a href="/r/2">为什么结尾让我失望</a></li></ul></div>"""
    return _page(body, "归途 短评 - 示例电影")


def test_review_list_keeps_every_review_once_without_chrome():
    text, meta = extract_main_text(review_list(), "https://movie.example.cn/subject/3500001/comments")
    _each_once(text, REVIEWS)
    _no_chrome(text, ["有用", "看过", "★", "2024-02-1", "后页", "热门影评", "一部被低估的家庭片", *USERS[:4]])
    assert meta["page_kind"] == "forum"


def test_a_script_before_the_doctype_does_not_empty_the_page():
    """Old portals (and their WARC records) start with a <script> block, then <!DOCTYPE>: libxml2
    put the whole page in <head> and the page came out with no text."""
    article = "".join(f"<p>{p}</p>" for p in ARTICLE)
    page = (
        '\n\n<script>\nfunction checkName() {\n  if (document.f.author.value=="") { alert("请输入用户名"); }\n}\n'
        "</script>\n<!DOCTYPE HTML PUBLIC -//W3C//DTD HTML 4.01 Transitional//EN>\n<html><head>"
        '<meta http-equiv="content-type" content="text/html; charset=gb2312"><title>龙井开采</title></head>'
        f'<body><table><tr><td class="menu">{MENU}</td></tr><tr><td>{article}</td></tr></table></body></html>'
    )
    decoded = decode_html(page.encode("gb18030"))
    assert decoded.charset in ("gb18030", "gbk", "gb2312")
    result = extract_main_text(decoded.text)
    assert result is not None
    _each_once(result[0], ARTICLE)
    # bare text served as a page is no empty page either
    assert extract_main_text("\n".join(ARTICLE)) is not None
    # only markup without text may go before the document start
    assert document_start(page).startswith("<!DOCTYPE")
    assert document_start("<p>前言</p><!DOCTYPE html><html></html>").startswith("<p>前言")


def test_a_page_with_prose_is_never_empty():
    """No candidate is trusted (the selector's pick is a copyright line): the one with the most
    prose wins, not nothing."""
    selector = Selector(dict.fromkeys(FEATURES, 0.0), dict(PRIORS))
    prose = "\n".join(ARTICLE)
    texts = {"readability": "© 2024 示例网 版权所有", "resiliparse": f"首页\n社区\n{prose}\n登录"}
    result = choose(texts, PageSignals(), selector, forum=False)
    assert result is not None and all(p in result.text for p in ARTICLE)
    # trusted candidates without a single sentence (a menu), beside a post list with prose
    menu = "\n".join(
        "首页 社区 问答 活动 排行 帮助 登录 注册 关于我们 联系我们 网站地图 友情链接".split() * 3
    )
    result = choose({"readability": menu, "posts": prose}, PageSignals(), selector, forum=False)
    assert result is not None and result.text == prose
    # and where no candidate holds a sentence, there is nothing to fall back to: no_text
    assert choose({"readability": "© 2024 示例网"}, PageSignals(), selector, forum=False) is None


def test_extract_command_keeps_comments_on_request(cli, read_docs, tmp_path):
    """``jinglian extract --comments``: the user's switch reaches the extract step."""
    page = tmp_path / "in" / "article.html"
    page.parent.mkdir()
    page.write_text(commented_article(), encoding="utf-8")
    for flag, kept in (([], False), (["--comments"], True)):
        out = tmp_path / f"out{len(flag)}"
        cli("extract", page, "--out", out, "--workers", "1", *flag)
        (doc,) = read_docs(out / "documents")
        assert ARTICLE[0] in doc["text"] and (COMMENTS[0] in doc["text"]) == kept


def test_the_sohu_page_without_its_wrapper_has_its_text(shared_data):
    """issue 21: the GBK dev page 93498c29... starts with a <script> block once the dataset's
    <text ...> wrapper is removed (as it sits in a WARC); it gave no_text."""
    import json
    import re

    from jinglian.corpus.extract.select import bigram_f1

    folder = shared_data / "extraction" / "gbk_pages"
    (path,) = (folder / "htmls").glob("93498c29*.html")
    gold = next(
        row
        for row in map(json.loads, (folder / "gold.jsonl").read_text(encoding="utf-8").splitlines())
        if row["id"] == path.stem
    )
    body = re.sub(rb"^<text[^>]*>", b"", path.read_bytes())
    assert body.lstrip().startswith(b"<script")
    doc = Document(text=decode_html(body).text, id="sohu")
    assert MainTextExtractor().check(doc) is None
    assert bigram_f1(doc.text, gold["text"]) > 0.9
