"""Page kinds through the real extractors: a forum thread, a list page, and an article where the
cheap first candidate (resiliparse) keeps the menus and the selector must take the second one.

The pages are written for these tests (invented sites and text), shaped like the kinds they stand
for: a Discuz-style thread, a news-list page with pagination, a portal article with navigation,
related links and footer.
"""

from __future__ import annotations

import json

import pytest
from datatrove.data import Document
from trafilatura.utils import load_html

from jinglian.corpus.extract import MainTextExtractor, extract_main_text
from jinglian.corpus.extract.page import candidates, trim_tail
from jinglian.corpus.extract.select import FEATURES, Selector, bigram_f1, train_selector

NAV = "".join(
    f'<li><a href="/c/{i}">{w}</a></li>'
    for i, w in enumerate("首页 新闻 财经 科技 体育 娱乐 汽车 房产 教育 健康 旅游 论坛 博客 视频".split())
)
FOOTER = (
    '<div class="footer"><a href="/about">关于我们</a> | <a href="/contact">联系我们</a> | '
    '<a href="/map">网站地图</a> | <a href="/links">友情链接</a><br>'
    "Copyright © 2003-2024 示例网 版权所有 京ICP备05012345号</div>"
)
HEADLINES = [
    "全市中小学春季运动会下周开幕", "地铁十七号线北段今日试运行", "本市发布今年第一号暴雨蓝色预警",
    "老旧小区改造完成年度任务过半", "图书馆延长周末开放时间至晚九点", "城区新增五处口袋公园对外开放",
    "农贸市场蔬菜价格连续三周回落", "社区卫生服务中心开通夜间门诊", "市民热线上半年受理诉求十二万件",
    "中心城区停车难问题有了新办法", "全民健身步道串联起十个公园", "高校毕业生就业服务季正式启动",
    "公交集团调整二十条线路运营时间", "文化馆推出暑期少儿公益课堂", "居民垃圾分类准确率明显提高",
    "新能源汽车充电桩覆盖所有街道",
]  # fmt: skip
POSTS = [
    ("山间小路", "楼主", "上周末带孩子去了一趟北京植物园，樱花已经开了大半，人比花还多。我们早上七点半就到了南门，"
     "停车还算顺利，进去以后先往樱桃沟方向走，那边的水杉林特别安静，孩子一路捡松果玩得很开心。中午在园里简单吃了点"
     "自带的面包和水果，下午去了温室，热带植物区闷热但很值得看。建议大家尽量工作日去，周末人实在太多。"),
    ("晨跑的老王", "沙发", "谢谢楼主分享！请问樱桃沟那边现在还要单独买票吗？我记得前几年是包含在门票里的，"
     "打算下周二请假带父母去转转，老人腿脚不太好，不知道路好不好走。"),
    ("山间小路", "板凳", "回楼上，樱桃沟不用单独买票，门票里已经包含了。路基本都是平的，只有最里面一段是台阶，"
     "走到水杉林就可以折返，老人完全没问题。园里有电瓶车，十块钱一位，可以省不少力气。"),
    ("花花世界", "地板", "去年四月中旬去的，温室里的兰花展非常漂亮，今年不知道还办不办。另外提醒一句，"
     "园里的厕所排队比较久，带孩子的家长最好提前做好准备，水也要多带一些。"),
]  # fmt: skip
ARTICLE = [
    "本报讯（记者 李明）5月18日，市图书馆新馆在城市副中心正式向公众开放。新馆建筑面积约七万五千平方米，"
    "设有阅览座位三千余个，可容纳藏书八百万册，是目前国内单体面积较大的公共图书馆之一。",
    "开馆当天，不少市民一早就在门口排起了长队。家住通州的张女士带着女儿第一批进馆，她说：“孩子特别喜欢"
    "少儿阅读区，那里的书架都是按年龄分的，找书很方便。”",
    "据介绍，新馆首次引入智能书库系统，读者在手机上预约后，机械臂会把图书从密集书库中取出，送到指定的取书点，"
    "整个过程一般不超过十五分钟。馆内还设置了古籍修复展示区，市民可以隔着玻璃观看修复师工作。",
    "图书馆负责人表示，新馆实行免费开放，每天开放时间为上午九点至晚上九点。今后还将定期举办讲座、展览和亲子"
    "阅读活动，让图书馆成为市民身边的“城市书房”。",
]
FORUM_URL = "http://bbs.example.cn/thread-4521-1-1.html"
LIST_URL = "http://news.example.cn/local/index_2.html"
NEWS_URL = "http://news.example.cn/local/2024/05/18/100.html"


def _links(items: list[str], prefix: str) -> str:
    return "".join(f'<li><a href="/{prefix}/{i}">{h}</a></li>' for i, h in enumerate(items))


def forum_page() -> str:
    posts = ""
    for i, (user, floor, text) in enumerate(POSTS):
        pid = 1001 + i
        posts += (
            f'<div id="post_{pid}" class="postbox"><table class="plhin"><tr>'
            f'<td class="pls"><div class="authi"><a href="/space/uid-{20 + i}">{user}</a></div>'
            f'<p>积分 {120 * (i + 1)}</p><p><a href="/pm/{20 + i}">发消息</a></p></td>'
            f'<td class="plc"><div class="pi"><strong>{floor}</strong> 发表于 2024-4-{6 + i} 10:{10 + i}'
            f' <a href="/viewthread?authorid={20 + i}">只看该作者</a></div>'
            f'<div class="t_fsz"><table><tr><td class="t_f" id="postmessage_{pid}">{text}</td></tr></table></div>'
            f'<div class="po"><a href="/reply?pid={pid}">回复</a> <a href="/report">举报</a></div>'
            "</td></tr></table></div>\n"
        )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>北京植物园赏樱攻略，周末人太多了 - 北京生活 - 示例社区</title></head>
<body><div id="hd"><ul class="nav">{NAV}</ul><div class="login"><a href="/login">登录</a> <a href="/register">注册</a></div></div>
<div id="pt"><a href="/">示例社区</a> &rsaquo; <a href="/forum-12-1.html">北京生活</a> &rsaquo; 北京植物园赏樱攻略</div>
<div id="ct"><h1>北京植物园赏樱攻略，周末人太多了</h1><p>查看: 3625 | 回复: 3</p>
{posts}
<div class="pgs"><a href="/thread-4521-2-1.html">下一页</a> <a href="/forum-12-1.html">返回列表</a></div>
<div class="side"><h3>热门帖子</h3><ul>{_links(["五一假期去哪儿玩", "周边自驾游推荐", "香山红叶什么时候最好看"], "t")}</ul></div>
</div>{FOOTER}</body></html>"""


def list_page() -> str:
    items = "".join(
        f'<li><a href="/news/2024/05/{i:02d}/{1000 + i}.html">{h}</a><span class="time">2024-05-{20 - i:02d}</span></li>'
        for i, h in enumerate(HEADLINES)
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>本地新闻_第2页_示例新闻网</title></head>
<body><div class="header"><ul class="menu">{NAV}</ul></div>
<div class="crumb"><a href="/">首页</a> &gt; <a href="/local/">本地新闻</a></div>
<div class="main"><div class="list"><h2>本地新闻</h2><ul class="news-list">{items}</ul>
<div class="pages"><a href="/local/index_1.html">上一页</a> <a href="/local/index_1.html">1</a> <span>2</span>
<a href="/local/index_3.html">3</a> <a href="/local/index_3.html">下一页</a></div></div>
<div class="right"><h3>热点排行</h3><ol>{_links(HEADLINES[:6], "hot")}</ol></div></div>
{FOOTER}</body></html>"""


def news_page() -> str:
    body = "".join(f"<p>{p}</p>" for p in ARTICLE)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>市图书馆新馆正式开放 智能书库十五分钟取书_示例新闻网</title></head>
<body><div class="header"><ul class="menu">{NAV}</ul><div class="login"><a href="/login">登录</a> | <a href="/reg">注册</a></div></div>
<div class="crumb"><a href="/">首页</a> &gt; <a href="/local/">本地新闻</a> &gt; 正文</div>
<div class="wrap"><div class="left"><h1>市图书馆新馆正式开放 智能书库十五分钟取书</h1>
<div class="info">2024-05-18 09:30 来源：示例日报 编辑：王芳</div>
<div class="content" id="article">{body}</div>
<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>
<div class="prevnext"><a href="/news/99">上一篇：城区新增五处口袋公园对外开放</a><br>
<a href="/news/101">下一篇：地铁十七号线北段今日试运行</a></div>
<div class="related"><h3>相关新闻</h3><ul>{_links(HEADLINES[:8], "news")}</ul></div>
<div class="comment"><h3>网友评论</h3><p>请<a href="/login">登录</a>后发表评论</p></div></div>
<div class="right"><h3>热门推荐</h3><ul>{_links(HEADLINES[8:], "hot")}</ul>
<div class="ad">扫一扫关注示例新闻网官方微信</div></div></div>
{FOOTER}</body></html>"""


def test_forum_thread_is_its_posts_not_the_menu():
    text, meta = extract_main_text(forum_page(), FORUM_URL)
    assert (meta["extractor"], meta["page_kind"]) == ("posts", "forum")
    assert all(post in text for _, _, post in POSTS)  # every post, the replies too
    chrome = "热门帖子 五一假期去哪儿玩 登录 版权所有 积分 发消息 只看该作者 山间小路".split()
    assert not [word for word in chrome if word in text]
    assert bigram_f1(text, "\n".join(p for _, _, p in POSTS)) > 0.95
    # readability alone keeps only the first post: the posts candidate is what rescues the thread
    texts, thread = candidates(forum_page(), FORUM_URL, load_html(forum_page()))
    assert POSTS[1][2] not in texts["readability"] and thread.posts == len(POSTS) and thread.floors


ENTRIES = [
    ("春日植物园", POSTS[0][2] + POSTS[2][2]),
    ("图书馆新馆", "".join(ARTICLE[:3])),
    ("周末的菜市场", POSTS[3][2] + POSTS[1][2]),
]


def blog_archive_page() -> str:
    """A month of a blog: every entry in full, each with its title, date, category and links."""
    entries = "".join(
        f'<div class="entry"><h2><a href="/post/{i}">{title}</a></h2>'
        f'<div class="entry-meta">2024-05-{10 + i} 21:0{i} | 分类：<a href="/cat/1">随笔</a></div>'
        f'<div class="entry-body"><p>{body}</p></div>'
        f'<div class="entry-foot"><a href="/post/{i}#c">评论(3)</a> <a href="/post/{i}">阅读全文</a></div></div>'
        for i, (title, body) in enumerate(ENTRIES)
    )
    return f"""<html><head><meta charset="utf-8"><title>山间小路的博客 - 2024年05月 - 示例博客</title></head>
<body><ul class="nav">{NAV}</ul><div id="main">{entries}<div class="pager"><a href="?page=2">下一页</a></div></div>
<div id="side"><h3>最新文章</h3><ul>{_links(HEADLINES[:6], "p")}</ul>
<h3>归档</h3><ul>{_links(["2024年05月", "2024年04月", "2024年03月"], "a")}</ul></div>{FOOTER}</body></html>"""


def test_blog_archive_keeps_every_entry():
    text, meta = extract_main_text(blog_archive_page(), "http://blog.example.cn/shanjian/archive/202405.html")
    assert meta["extractor"] == "posts" and all(body in text for _, body in ENTRIES)
    assert not [word for word in ("最新文章", "阅读全文", "评论(3)", HEADLINES[0]) if word in text]


def test_list_page_returns_little_rather_than_the_menu():
    text, meta = extract_main_text(list_page(), LIST_URL)
    assert meta["page_kind"] == "list"
    assert not any(h in text for h in HEADLINES) and "首页" not in text
    assert len(text) < 30  # the page title at most


def test_selector_prefers_the_second_candidate_over_the_cheap_first():
    html, gold = news_page(), "\n".join(ARTICLE)
    texts, thread = candidates(html, NEWS_URL, load_html(html))
    assert list(texts)[:2] == ["resiliparse", "readability"] and thread is None  # cheap first
    text, meta = extract_main_text(html, NEWS_URL)
    scores = meta["extract_scores"]
    assert meta["extractor"] == "readability" and scores["readability"] > scores["resiliparse"]
    assert bigram_f1(texts["resiliparse"], gold) < 0.9 < 0.98 < bigram_f1(text, gold)
    assert "登录" in texts["resiliparse"] and "首页" in texts["resiliparse"]  # what makes it worse
    for boiler in ("相关新闻", "上一篇", "扫一扫", "版权所有", "登录", "首页"):
        assert boiler not in text, boiler


def article_in(container_class: str) -> str:
    """The article in a container whose class name readability's heuristics distrust."""
    body = "".join(f"<p>{p}</p>" for p in ARTICLE)
    return f"""<html><head><meta charset="utf-8"><title>市图书馆新馆正式开放_示例新闻网</title></head>
<body><ul class="menu">{NAV}</ul><div class="wrap"><h1>市图书馆新馆正式开放</h1>
<div class="{container_class}">{body}</div>
<div class="related"><h3>相关新闻</h3><ul>{_links(HEADLINES[:8], "news")}</ul></div></div>
<div class="hot"><h3>热门推荐</h3><ul>{_links(HEADLINES[8:], "hot")}</ul></div>{FOOTER}</body></html>"""


@pytest.mark.parametrize(
    ("container_class", "winner"),
    [
        ("txt remark", "readability+confirmed"),  # readability keeps a scrap; two others confirm the rest
        ("sidebar-text", "resiliparse"),  # readability and trafilatura both find nothing
    ],
)
def test_when_readability_misses_the_article_a_fallback_wins(container_class, winner):
    text, meta = extract_main_text(article_in(container_class), NEWS_URL)
    assert meta["extractor"] == winner and "readability" not in meta["extract_scores"]
    assert bigram_f1(text, "\n".join(ARTICLE)) > 0.95


def test_extract_step_metadata_says_who_won():
    doc = Document(text=news_page(), id="n", metadata={"url": NEWS_URL})
    assert MainTextExtractor().check(doc) is None
    meta = doc.metadata
    assert isinstance(meta["extractor"], str) and meta["extractor"] in meta["extract_scores"]
    assert all(isinstance(k, str) and isinstance(v, float) for k, v in meta["extract_scores"].items())
    assert meta["page_kind"] in ("article", "forum", "list")
    json.dumps(meta, ensure_ascii=False)  # goes into the documents' JSONL as is


def _page(good: dict, bad: dict) -> tuple[dict, dict]:
    features = {"readability": good, "trafilatura": bad}
    return features, {"readability": 0.95, "trafilatura": 0.5}


def test_selector_training_learns_the_sign_and_shares_base_priors():
    zero = dict.fromkeys(FEATURES, 0.0)
    pages = [_page({**zero, "boiler": 0.5 * i}, {**zero, "boiler": 0.5 * i + 1.0}) for i in range(6)]
    selector = train_selector(pages, priors=False)
    assert selector.weights["boiler"] < 0 and all(
        abs(v) < 1e-9 for k, v in selector.weights.items() if k != "boiler"
    )
    # the shorter text winning every page does not teach the selector to like fragments
    shorter = [_page({**zero, "short": 1.0}, zero) for _ in range(6)]
    assert train_selector(shorter, priors=False).weights["short"] == 0.0
    shipped = Selector.load()
    assert shipped.score("readability+confirmed", zero) == shipped.score("readability", zero)


def test_a_feature_is_kept_only_where_every_set_agrees():
    """boiler tells the better text in both sets, long only in one: fit_across keeps boiler alone,
    at the smaller of its two weights, and the priors stay the fixed order."""
    from jinglian.corpus.extract.select import PRIORS, fit_across

    zero = dict.fromkeys(FEATURES, 0.0)
    one_set = [
        _page({**zero, "boiler": 0.2 * i}, {**zero, "boiler": 0.2 * i + 1.0, "long": 1.0}) for i in range(6)
    ]
    other = [_page({**zero, "boiler": 0.1 * i}, {**zero, "boiler": 0.1 * i + 0.5}) for i in range(6)]
    fits = [train_selector(pages, priors=PRIORS) for pages in (one_set, other)]
    assert fits[0].weights["long"] < 0 and fits[1].weights["long"] == 0.0
    combined = fit_across([one_set, other])
    assert combined.weights["long"] == 0.0 and combined.priors == PRIORS
    assert combined.weights["boiler"] == max(f.weights["boiler"] for f in fits) < 0


def test_article_end_loses_credits_and_tags_but_not_sentences():
    body = "新馆实行免费开放，每天开放时间为上午九点至晚上九点。"
    assert trim_tail(f"{body}\n(编辑：文静)\n关键字：\n图书馆 阅读") == body
    assert trim_tail(f"{body}\n（编辑：小何）返回搜狐，查看更多\n责任编辑：") == body
    sentence = "据责任编辑：王芳介绍，新馆的智能书库今年下半年还将扩容，届时取书时间会进一步缩短。"
    assert trim_tail(f"{body}\n{sentence}") == f"{body}\n{sentence}"
    html = news_page().replace(
        '</div>\n<div class="share">', '<p>（责任编辑：王芳）</p></div>\n<div class="share">'
    )
    assert "责任编辑" in html
    text, _ = extract_main_text(html, NEWS_URL)
    assert text.endswith(ARTICLE[-1])


def test_selector_holds_across_the_dev_sets(shared_data):
    """Fit on two sets, score the third: no page's choice changes from the shipped selector's, as
    it does not when one page is left out; and the shipped weights are the refit."""
    import importlib.util
    from pathlib import Path

    from jinglian.corpus.extract.select import fit_across

    spec = importlib.util.spec_from_file_location(
        "bench_extract", Path(__file__).parents[1] / "bench" / "extract.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = {s: bench.page_candidates(bench.load_set(shared_data / "extraction" / s)) for s in bench.SETS}
    every = [row for s in bench.SETS for row in rows[s]]
    set_of = [s for s in bench.SETS for _ in rows[s]]
    scores, _, changed = bench.held_out(every, lambda i: [rows[s] for s in bench.SETS if s != set_of[i]])
    assert changed == 0 and min(scores) > 0.5
    refit, shipped = fit_across([bench.training_pairs(rows[s]) for s in bench.SETS]), Selector.load()
    assert refit.priors == shipped.priors
    assert all(abs(refit.weights[k] - shipped.weights[k]) < 1e-3 for k in FEATURES)
