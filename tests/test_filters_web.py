"""The zh-web rules on realistic web pages: line cleaning, spam terms, page types, URL signals.

Every page here is written for these tests (no shared data): the shapes are those of real
Chinese web pages (a news article inside its site's menus and footer, a product page, a hospital
advert, a teaser list, an error page), the wording is ours.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from datatrove.data import Document

from jinglian.corpus.filters import filter_steps
from jinglian.corpus.filters.blocklists import Blocklist
from jinglian.corpus.filters.heuristics import ChineseHeuristics
from jinglian.corpus.filters.lines import LineCleaner
from jinglian.corpus.filters.pagetypes import PageTypes, medical_ad_score
from jinglian.corpus.filters.urls import URLSignals, url_signals

ARTICLE_BODY = [
    "本报讯（记者 李明）今年秋粮收购工作已全面展开，省粮食和物资储备局近日召开专题会议，部署收购期间的市场监测与服务保障。",
    "据介绍，全省今年秋粮播种面积稳中有增，玉米、水稻等主要品种长势良好，预计总产量与去年持平略增。",
    "会议要求各地合理布设收购网点，方便农民就近售粮，严禁压级压价、拖欠售粮款等损害农民利益的行为。",
    "粮食部门还将开通服务热线，及时受理农民反映的问题，并组织技术人员下乡，指导农户科学晾晒、安全储粮。",
    "业内人士表示，随着烘干设施的普及，农户因天气原因造成的损失明显减少，售粮的时间也更加灵活。",
]
MENU = ["首页", "新闻中心", "本地 国内 国际 财经 体育 娱乐", "当前位置：首页 > 新闻中心 > 本地新闻"]
FOOTER = [
    "上一篇：我市举办农民丰收节庆祝活动",
    "下一篇：冬季农业生产技术要点",
    "扫一扫，关注我们",
    "分享到：微信 微博 QQ空间",
    "关于我们 | 联系我们 | 网站地图 | 免责声明",
    "Copyright © 2022 某某日报社 版权所有 京ICP备12345678号",
    "2022-10-18 09:30",
]


def page(title: str, body: list[str], menu=MENU, footer=FOOTER) -> str:
    return "\n".join([title, *menu, title.split(" - ")[0], "2022年10月18日 来源：某某日报", *body, *footer])


def run_profile(text: str, url: str = "", title: str = "") -> tuple[str | None, Document]:
    """The first step of zh-web that drops the document (None: kept), and the document."""
    meta = {k: v for k, v in (("url", url), ("title", title)) if v}
    doc = Document(text=text, id="t", metadata=meta)
    for step in filter_steps("zh-web"):
        verdict = step.check(doc)
        if verdict is not None:
            rule = verdict[0] if isinstance(verdict, tuple) else verdict
            return f"{step.name}/{rule}", doc
    return None, doc


# ---- line cleaning ---------------------------------------------------------------------------


def test_good_article_with_menu_and_footer_survives_and_loses_the_boilerplate():
    text = page("秋粮收购全面展开 - 某某新闻网", ARTICLE_BODY)
    verdict, doc = run_profile(text)
    assert verdict is None
    for line in ARTICLE_BODY:
        assert line in doc.text
    for gone in ("当前位置", "上一篇", "扫一扫", "版权所有", "ICP", "网站地图", "本地 国内 国际", "2022-10-18 09:30"):
        assert gone not in doc.text, gone
    assert doc.metadata["lines_removed"] >= 10
    assert 0.2 < doc.metadata["chars_removed_share"] < 0.6


def test_cleaner_keeps_headings_above_their_paragraph_and_single_paragraphs_whole():
    cleaner = LineCleaner()
    kept, removed = cleaner.clean("\n".join(["标签：粮食", "一、收购网点", ARTICLE_BODY[2], "相关阅读"]))
    assert kept == ["一、收购网点", ARTICLE_BODY[2]]
    assert removed == ["标签：粮食", "相关阅读"]
    one = "登录注册是很多网站的第一步，本段讨论它的设计。"
    assert cleaner.clean(one) == ([one], [])


def test_teaser_lists_are_removed_and_a_page_of_only_boilerplate_is_dropped():
    teasers = [f"第{i}期：秋季养生的几个小窍门，专家建议多喝温水、少吃生冷食物，还要注意..." for i in range(1, 7)]
    kept, removed = LineCleaner().clean("\n".join(["养生专栏", *teasers, "更多>>"]))
    assert not any(t in kept for t in teasers) and len(removed) >= 7
    nav = "\n".join(["网站首页", *MENU, "登录 | 注册", "热门标签：养生 健康 饮食", *FOOTER])
    verdict, _ = run_profile(nav)
    assert verdict in ("lines/max_chars_removed_share", "lines/min_kept_han_chars")


def test_line_cleaner_step_rewrites_text_and_its_books_balance():
    cleaner = LineCleaner({"max_chars_removed_share": 0.85})
    docs = [Document(text=page("秋粮收购全面展开 - 某某新闻网", ARTICLE_BODY), id="a"),
            Document(text="\n".join(MENU + FOOTER), id="b")]
    out = list(cleaner.run(iter(docs)))
    assert [d.id for d in out] == ["a"] and "版权所有" not in out[0].text
    stats = cleaner.stats.stats
    dropped = sum(v.total for k, v in stats.items() if k.startswith("dropped/"))
    assert stats["in"].total == stats["kept"].total + dropped == 2


# ---- spam terms ------------------------------------------------------------------------------


def test_one_brand_injected_into_the_title_of_a_normal_page_is_caught():
    text = page("开云体育官网-秋粮收购全面展开 - 某某新闻网", ARTICLE_BODY)
    verdict, doc = run_profile(text)
    assert verdict == "blocklist/max_blocklist_score"
    assert "开云体育" in doc.metadata["blocklist_terms"]
    # the same page without the brand is kept, and the brand in an ordinary word is not spam
    assert run_profile(page("秋粮收购全面展开 - 某某新闻网", ARTICLE_BODY))[0] is None
    kering = "开云集团旗下品牌今年第三季度销售额同比增长，集团表示将继续投资皮具业务。"
    assert Blocklist(lists=["spam_terms"]).score(kering)[0] == 0


def test_pinyin_brand_on_a_product_page_and_latin_word_boundaries():
    blocklist = Blocklist(lists=["spam_terms"], first_lines=3, first_lines_weight=3.0)
    seafood = "冻生开杂色蛤肉\nyabo手机版登录:冻生开杂色蛤肉\n规格：1公斤每袋，冷冻保存。\n产地直发，新鲜冷冻。"
    score, categories, terms = blocklist.score(seafood)
    assert "yabo" in terms and score > 4.0 and "gambling_brand" in categories
    assert blocklist.score("He finished eighth in the race, and it was a healthy result.")[0] == 0


def test_traditional_spellings_match_the_same_terms():
    blocklist = Blocklist(lists=["spam_terms"])
    assert "百家乐" in blocklist.score("線上百家樂真人視訊，註冊送彩金")[2]


def test_density_keeps_a_long_article_with_one_weak_word_and_drops_a_short_porn_stub():
    blocklist = Blocklist({"max_blocklist_density": 2.5}, lists=["default", "spam_terms"])
    long_article = "\n".join(ARTICLE_BODY * 4) + "\n电影中有少量激情场面，但不影响全片的叙事。"
    assert blocklist.check(Document(text=long_article, id="a")) is None
    stub = "免费在线观看成人视频，日本AV女优高清无码。"
    assert blocklist.check(Document(text=stub, id="b"))[0] == "max_blocklist_density"


# ---- page types ------------------------------------------------------------------------------


HOSPITAL_QA = [
    "问：孩子反复咳嗽两周，夜里加重，需要做哪些检查？",
    "答：您好，根据您的描述，孩子可能存在咳嗽变异性哮喘或者鼻后滴漏的情况。建议先到儿科门诊就诊，医生会根据听诊结果决定是否需要拍胸片。",
    "平时要注意室内通风，避免接触烟雾和冷空气，饮食以清淡为主。如果出现发热、呼吸急促，应及时就医。",
    "以上解答仅供参考，具体诊疗请遵医嘱。",
]


def test_medical_qa_on_a_hospital_site_is_not_automatically_spam():
    text = "\n".join(["孩子反复咳嗽怎么办_某某市人民医院", "首页 医院概况 科室导航 专家介绍 就医指南", *HOSPITAL_QA,
                      "预约挂号 | 来院路线 | 联系我们", "版权所有 © 某某市人民医院"])
    verdict, doc = run_profile(text, url="https://www.example-hospital.cn/qa/1234.html")
    assert verdict is None
    assert doc.metadata["medical_ad_score"] <= 5


def test_hospital_advert_is_dropped():
    advert = "\n".join([
        "白癜风哪家医院好_治疗白癜风最好的医院-某地白癜风专科医院",
        "白癜风是一种常见的皮肤病，我院专家团队采用特色疗法，治愈率高，不复发。",
        "在线咨询 预约挂号 乘车路线",
        "咨询热线：400-000-0000，免费咨询，专家在线为您解答。",
        "白癜风治疗费用多少钱？具体要根据病情来定，欢迎来院检查。",
    ])
    assert medical_ad_score(advert) > 5
    assert run_profile(advert)[0] == "page_types/max_medical_ad_score"


def test_product_catalogue_error_page_keyword_stuffing_and_gambling_site_title():
    types = PageTypes({"max_catalogue_score": 2.0, "max_error_page": 0, "max_keyword_list_share": 0.3,
                       "max_gambling_site_title": 0})
    catalogue = "\n".join([
        "不锈钢离心泵 - 某某泵业制造有限公司", "产品中心", "型号：ISW50-160", "规格：DN50", "价格：面议",
        "品牌：某某", "产地：浙江", "在线询价", "加入购物车", "联系我们", "服务热线：400-000-0000",
    ])
    assert types.check(Document(text=catalogue, id="c"))[0] == "max_catalogue_score"
    error = "404 Not Found\n抱歉，您访问的页面不存在或已被删除。\n返回首页"
    assert types.check(Document(text=error, id="e"))[0] == "max_error_page"
    stuffed = "\n".join([
        "上海装修公司",
        "上海装修公司,上海装修,装修公司排名,家装公司,上海装饰公司,装修报价,装修效果图,别墅装修",
        "上海装修公司哪家好,上海装修价格,老房翻新,二手房装修,办公室装修,厂房装修,店面装修",
        "我们提供装修服务。",
    ])
    assert types.check(Document(text=stuffed, id="k"))[0] == "max_keyword_list_share"
    farm = "秋粮收购全面展开-6163银河电子游戏网站\n" + "\n".join(ARTICLE_BODY)
    assert types.check(Document(text=farm, id="g"))[0] == "max_gambling_site_title"
    article = page("秋粮收购全面展开 - 某某新闻网", ARTICLE_BODY)
    assert types.check(Document(text=article, id="a")) is None


# ---- URL signals -----------------------------------------------------------------------------


def test_url_signals_brand_pinyin_in_the_host_and_numeric_hosts():
    assert url_signals("https://www.kaiyun-sports.com/news/1.html")[0] >= 2.0
    assert url_signals("http://hth888.cc/a/1.html")[0] >= 2.0
    assert url_signals("http://bdf.8441665.cn/7c62c/54333.html")[1] == ["host:numeric"]
    for ok in ("https://www.sina.com.cn/news/1.html", "https://www.4399.com/", "https://www.12306.cn/",
               "https://www.health.gov.cn/eighth", "https://www.163.com/a.html"):
        assert url_signals(ok)[0] == 0.0, ok
    urls = URLSignals({"max_url_spam_score": 1.5})
    assert urls.check(Document(text="x", id="a", metadata={"url": "https://yabo-app.net/x"}))[0] == "max_url_spam_score"
    assert urls.check(Document(text="x", id="b", metadata={"url": "http://8441665.cn/x"})) is None
    assert urls.check(Document(text="x", id="c")) is None  # no URL: recorded, not judged


UT1_OFFLINE = """
import json, socket, sys
def no_network(*args, **kwargs):
    raise OSError("network is switched off in this test")
socket.socket.connect = no_network
socket.create_connection = no_network
from datatrove.data import Document
from jinglian.corpus.filters.urls import URLSignals
step = URLSignals({"max_ut1_blocked": 0}, ut1=True)
out = {}
for url in sys.argv[1:]:
    out[url] = step.check(Document(text="x", id="a", metadata={"url": url}))
print(json.dumps(out))
"""


def test_ut1_url_filter_runs_with_the_network_absent(tmp_path):
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1")
    urls = ["https://www.pornhub.com/view_video.php", "https://news.sina.com.cn/c/2022-10-18/doc.shtml"]
    result = subprocess.run([sys.executable, "-c", UT1_OFFLINE, *urls], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out[urls[0]][0] == "max_ut1_blocked"
    assert out[urls[1]] is None


# ---- English and bilingual pages (zh-web keeps zh and en) ------------------------------------

EN_ARTICLE = [
    "The city council approved a plan on Monday to extend the riverside cycle path by four kilometres.",
    "Work is expected to start in the spring, and the council said that the new section will connect two parks with the old harbour.",
    "Residents who attended the meeting asked for more lighting along the path and for benches at regular intervals.",
    "The transport office will publish a map of the route and a timetable for the work before the end of the month.",
]
EN_MENU = ["Home", "News", "Sport", "Business", "Contact Us", "Login", "Search"]


def test_english_article_with_its_menu_is_kept_and_english_junk_is_dropped(tmp_path):
    text = "\n".join(["Riverside cycle path to be extended - City News", *EN_MENU, *EN_ARTICLE,
                      "Copyright © 2022 City News. All rights reserved."])
    verdict, doc = run_profile(text)
    assert verdict is None and doc.metadata["lang"] == "en"
    assert "Login" not in doc.text and EN_ARTICLE[1] in doc.text
    assert doc.metadata["kept_words"] >= 50 and doc.metadata["en_stopword_hits"] >= 2
    # an English menu page is dropped (language ID is unsure of it, or nothing is left after cleaning)
    menu_page = "\n".join(["Products", *EN_MENU * 3, "Privacy Policy", "Terms of Service"])
    assert run_profile(menu_page)[0] is not None
    verdict = LineCleaner({"min_kept_words": 50}).check(Document(text=menu_page, id="m", metadata={"lang": "en"}))
    assert verdict[0] == "min_kept_words" and verdict[1] <= 1  # the title is all that is left
    # a Chinese-only profile drops the English article at language ID
    zh_only = tmp_path / "zh-only.yaml"
    zh_only.write_text("extends: zh-web\nlangid:\n  languages: [zh]\n", encoding="utf-8")
    doc = Document(text=text, id="e")
    assert filter_steps(zh_only)[0].check(doc) == ("lang", "en")


def test_english_word_salad_without_stopwords_fails_the_stopword_rule():
    salad = "\n".join(
        " ".join(f"{w}{i}" if i % 3 == 0 else w for i, w in enumerate(
            "cheap replica watches online store best price discount sale shipping worldwide".split()))
        + "." for _ in range(12)
    )
    doc = Document(text=salad, id="s", metadata={"lang": "en"})
    steps = {s.name: s for s in filter_steps("zh-web")}
    verdict = steps["heuristics"].check(doc)
    assert verdict == ("min_en_stopword_hits", 0)
    assert doc.metadata["en_stopword_hits"] == 0


def test_bilingual_dictionary_entry_is_judged_on_its_non_english_text():
    entry = "\n".join([
        "harvest 的中文解释",
        "harvest [ˈhɑːvɪst]",
        "n. 收获，收割；收成，收获量",
        "The farmers worked late into the night to bring in the harvest before the rain.",
        "农民们干到深夜，赶在下雨前把庄稼收回来。",
        "vt. 收割，收获；获得",
        "They hope to harvest the apples at the end of the month and sell them at the market.",
        "他们希望在月底收摘苹果，然后拿到市场上去卖。",
        "This year the harvest was better than they had expected, and prices were stable.",
        "今年的收成比他们预想的要好，价格也很稳定。",
    ])
    verdict, doc = run_profile(entry)
    assert doc.metadata["han_ratio"] < 0.30 <= doc.metadata["han_ratio_non_english"]
    assert verdict is None
    # Latin junk is not "English sentences": brand strings and codes still count against the page
    junk = "\n".join(["kaiyun yabo hth 888 bet365 vip app apk download login link 2022 9999",
                      "中文不多的一页。", "xpj ag bbin pt mg ttg sa ob ds ky leyu abc123 www 666"] * 3)
    junk_doc = Document(text=junk, id="j", metadata={"lang": "zh"})
    verdict = ChineseHeuristics({"min_han_ratio_non_english": 0.30}).check(junk_doc)
    assert verdict[0] == "min_han_ratio_non_english"
    assert junk_doc.metadata["han_ratio_non_english"] == junk_doc.metadata["han_ratio"]


# ---- content farms, clipped teasers, scraped pages, paid PR ----------------------------------


def test_seo_content_farm_template_is_dropped_and_a_howto_with_one_phrase_is_kept():
    farm = "\n".join([
        "属兔的人明年运势如何_属兔明年财运 - 某某网",
        "提起属兔的人明年运势如何，大家都知道，有人问属兔明年财运，另外，还有人想问属兔明年感情，你知道这是怎么回事？"
        "其实属兔明年事业，下面就一起来看看属兔明年财运，希望能够帮助到大家！",
        "属兔的人性格温和，做事细心，待人真诚，朋友很多。明年流年运势平稳，适合稳中求进。",
        "以上就是与属兔的人明年运势如何相关内容，希望对大家有所帮助。",
    ])
    verdict, doc = run_profile(farm)
    assert verdict == "page_types/max_seo_template_phrases" and doc.metadata["seo_template_phrases"] >= 4
    howto = "\n".join([
        "如何给自行车链条上油",
        "链条缺油时骑行会发出咔咔的响声，也更容易生锈。下面就一起来看看正确的做法。",
        "第一步，用旧布擦掉链条表面的泥土和旧油，必要时用专用清洗剂。",
        "第二步，一边倒转脚踏，一边在每一节链条上滴一滴链条油，不要滴得太多。",
        "第三步，静置几分钟后，用干布擦去多余的油，避免粘上灰尘。",
    ])
    verdict, doc = run_profile(howto)
    assert verdict is None and doc.metadata["seo_template_phrases"] == 1


def test_teasers_clipped_at_a_fixed_length_are_removed():
    summaries = [
        f"第{i}个案例：我们为一家本地餐饮企业策划了开业活动，从前期的市场调研、活动方案到现场执行和后期的传播复盘，全程由"
        for i in range(1, 7)
    ]
    summaries = [s[:60] for s in summaries]  # the site cuts every summary at 60 characters
    assert len({len(s) for s in summaries}) == 1
    kept, removed = LineCleaner().clean("\n".join(["案例中心", *summaries, ARTICLE_BODY[0], ARTICLE_BODY[1]]))
    assert not any(s in kept for s in summaries) and ARTICLE_BODY[0] in kept


def test_a_page_that_gives_another_sites_address_as_its_own_is_caught():
    body = "\n".join(ARTICLE_BODY)
    urls = URLSignals({"max_foreign_self_url": 0})
    copied = Document(text=body + "\n本文地址：https://www.some-news.cn/a/123.html", id="c",
                      metadata={"url": "http://sub.hijacked-school.edu.cn/x/9.html"})
    assert urls.check(copied) == ("max_foreign_self_url", 1)
    own = Document(text=body + "\n转载请注明出处：https://news.example.com.cn/a/123.html", id="o",
                   metadata={"url": "https://www.example.com.cn/a/123.html"})
    assert urls.check(own) is None  # the same site (another host name)
    credited = Document(text=body + "\n原文链接：https://www.some-news.cn/a/123.html", id="r",
                        metadata={"url": "https://bbs.example.org/t/1"})
    assert urls.check(credited) is None  # a credited source is not a self-reference


def test_paid_pr_service_page_is_caught_and_an_article_about_advertorials_is_not():
    service = "\n".join(["某某传媒", "软文代发 新闻稿代发 媒体发稿", "我们拥有上千家合作媒体，让您的文章遍布互联网，助您提升品牌效益！",
                         *ARTICLE_BODY[:2]])
    assert run_profile(service)[0] == "blocklist/max_blocklist_score"
    article = page("软文营销的边界在哪里 - 某某新闻网", ARTICLE_BODY + [
        "有学者指出，一些企业把软文推广包装成新闻报道，读者很难分辨，监管部门应当要求明确标注“广告”字样。"])
    assert run_profile(article)[0] is None


def test_line_cleaning_totals_go_into_the_step_stats():
    cleaner = LineCleaner({"max_chars_removed_share": 0.85})
    docs = [Document(text=page("秋粮收购全面展开 - 某某新闻网", ARTICLE_BODY), id="a")]
    out = list(cleaner.run(iter(docs)))
    stats = cleaner.stats.stats
    assert stats["lines_removed"].total == out[0].metadata["lines_removed"] >= 10
    assert 0 < stats["chars_removed"].total < stats["chars_seen"].total
    share = stats["chars_removed"].total / stats["chars_seen"].total
    assert abs(share - out[0].metadata["chars_removed_share"]) < 1e-3


def test_latin_terms_match_as_words_in_english_text_and_an_english_casino_page_is_caught():
    blocklist = Blocklist(lists=["spam_terms"])
    assert "bet365" in blocklist.score("You can play at bet365 now and collect your prize.")[2]
    assert blocklist.score("The casino bonus round of the quiz show was won by a teacher.")[0] <= 1.5
    assert blocklist.score("He finished eighth in the race, and it was a healthy result.")[0] == 0
    casino = "\n".join([
        "Best online casino 2022 - free spins and no deposit bonus",
        *EN_MENU,
        "Join the best online casino today and get 100 free spins with your no deposit bonus.",
        "Our live casino has the best online slots, and you can play them on your phone.",
        *EN_ARTICLE[:2],
    ])
    verdict, doc = run_profile(casino)
    assert verdict == "blocklist/max_blocklist_score" and "online casino" in doc.metadata["blocklist_terms"]


def test_web_novel_chapter_keeps_its_dialogue_and_loses_the_reader_chrome():
    chapter = [
        "第十二章 雨夜",
        "雨下了一整夜，山路早已泥泞不堪。",
        "“还走吗？”阿青抹了一把脸上的雨水，回头问道。",
        "“走。”少年只说了一个字。",
        "两人一前一后，踩着石阶往山上去。远处的寺庙里，还亮着一盏昏黄的灯。",
        "“你怕不怕？”",
        "“怕什么？”",
        "“怕那个人不肯见我们。”",
        "少年没有回答，只是把怀里的信又按紧了一些。",
    ]
    text = "\n".join(["第十二章 雨夜_某某小说网", "首页 玄幻 武侠 都市 历史", "加入书签 投推荐票 章节目录", *chapter,
                      "上一章 章节目录 下一章", "本章未完，点击下一页继续阅读", "某某小说最新章节 全文阅读"])
    verdict, doc = run_profile(text)
    assert verdict is None
    for line in chapter[1:]:
        assert line in doc.text
    for gone in ("加入书签", "章节目录", "点击下一页继续阅读", "最新章节"):
        assert gone not in doc.text, gone


def test_dated_news_lists_are_removed_but_numbered_headings_and_dates_in_prose_stay():
    news_list = ["2022-10-18·我市举办农民丰收节庆祝活动", "2022-10-17·冬季农业生产技术要点发布",
                 "秋季养生的几个小窍门 2022-10-16", "全省秋粮播种面积稳中有增 10-15 09:30"]
    kept, removed = LineCleaner().clean("\n".join([*ARTICLE_BODY[:2], "相关新闻", *news_list]))
    assert not any(item in kept for item in news_list) and ARTICLE_BODY[1] in kept
    manual = ["1.1 电子商务的概念", ARTICLE_BODY[0], "1.2 物流配送的概念", ARTICLE_BODY[1],
              "1.3 两者的关系", ARTICLE_BODY[2], "2018年1月31日，该剧正式播出，收视率位居同时段第一。"]
    kept, _ = LineCleaner().clean("\n".join(manual))
    assert kept == manual


def test_paragraph_comment_counts_and_footnote_marks_are_cut_so_the_prose_counts_as_prose():
    # novel sites append each paragraph's comment count, encyclopedias their footnote marks
    novel = [f"{line}{n}" for line, n in zip(
        ["雨下了一整夜，山路早已泥泞不堪。", "“还走吗？”阿青抹了一把脸上的雨水，回头问道。",
         "两人一前一后，踩着石阶往山上去。远处的寺庙里，还亮着一盏昏黄的灯。",
         "少年没有回答，只是把怀里的信又按紧了一些。"], (37, 22, 105, 8), strict=True)]
    verdict, doc = run_profile("\n".join(novel))
    assert verdict is None, verdict
    assert doc.text.splitlines()[0] == "雨下了一整夜，山路早已泥泞不堪。" and doc.metadata["terminal_punct_share"] == 1.0
    kept, _ = LineCleaner().clean("该桥始建于明代，清代两次重修。[1]\n桥长约六十米，由花岗岩砌成。[2][3]")
    assert kept == ["该桥始建于明代，清代两次重修。", "桥长约六十米，由花岗岩砌成。"]
    kept, _ = LineCleaner().clean("全年共接待游客1200万人次，同比增长12%。\n门票价格为60元。")
    assert kept[0].endswith("12%。")  # a number inside the sentence is text, not a mark


def test_a_poem_inside_its_sites_menus_keeps_its_verse_lines():
    poem = ["深夜读书不觉寒，", "一盏孤灯照案前。", "窗外梅花开几朵，", "清香暗送到窗边。"]
    text = "\n".join(["冬夜读书 - 某某诗歌网", "首页 诗人 诗歌 诗讯 投稿", "登录 注册", "冬夜读书", *poem,
                      "注释：冬夜独坐读书，窗外梅花初开，香气随风而入，作者借此写出读书之乐。",
                      "相关作品", "春日游园", "秋夜听雨", "Copyright © 2022 某某诗歌网 版权所有"])
    kept, removed = LineCleaner().clean(text)
    assert all(line in kept for line in poem), removed
    assert not any(line in kept for line in ("首页 诗人 诗歌 诗讯 投稿", "登录 注册", "春日游园"))
    # a list of link texts does not end in commas and a full stop: it is not verse
    kept, _ = LineCleaner().clean("\n".join(["热门作品", "春日游园", "秋夜听雨", "江边送别", ARTICLE_BODY[0]]))
    assert "春日游园" not in kept


def test_market_news_that_says_price_stock_and_sales_in_sentences_is_not_a_catalogue():
    news = [
        "本周生猪价格小幅回落，多地批发市场报价较上周下跌约3%。",
        "业内人士分析，前期养殖场集中出栏，冷库库存处于高位，短期内供应偏宽松。",
        "与此同时，节前备货带动部分超市销量回升，但整体需求仍弱于往年同期。",
        "机构预计，随着库存逐步消化，下月价格有望企稳。",
    ]
    types = PageTypes({"max_catalogue_score": 2.0})
    assert types.check(Document(text=page("生猪价格小幅回落 - 某某财经网", news), id="n")) is None
    # the same words as a shop shows them, on buttons and labels, still make a catalogue
    shop = "\n".join(["冷鲜猪肉 - 某某食品商城", "价格：28元/斤", "库存：充足", "销量：1200", "立即购买", "加入购物车",
                      "发货：24小时内", news[0]])
    assert types.check(Document(text=shop, id="s"))[0] == "max_catalogue_score"


def test_comment_section_chrome_goes_and_sentences_that_use_a_boilerplate_word_stay():
    comments = ["评论 3 文明上网理性发言", "人生有点甜", "支持这样的做法，粮食收购就该公开透明。", "吉林网友", "回复",
                "用户7896866", "希望今年的收购价格能稳住，农民种粮才有奔头。", "上海网友", "1回复", "查看全部3条评论",
                "高爆打金传奇广告", "了解详情"]
    kept, removed = LineCleaner().clean("\n".join([*ARTICLE_BODY, *comments]))
    for chrome in ("吉林网友", "回复", "用户7896866", "上海网友", "1回复", "查看全部3条评论", "高爆打金传奇广告", "了解详情"):
        assert chrome in removed, chrome
    assert "支持这样的做法，粮食收购就该公开透明。" in kept
    # a boilerplate word inside a sentence is a word: only at the start does it make site furniture
    news = ["台风“海葵”今天下午在福建东山登陆。", "这家企业去年在新区注册，正在建设总部大楼。", "登录后可查看全文。"]
    kept, removed = LineCleaner().clean("\n".join([ARTICLE_BODY[0], *news, ARTICLE_BODY[1]]))
    assert news[0] in kept and news[1] in kept and removed == ["登录后可查看全文。"]


def test_a_page_stuffed_with_its_title_keyword_is_caught_and_an_article_naming_its_subject_is_not():
    types = PageTypes({"max_title_keyword_share": 0.15})
    stuffed = ["上海装修公司_上海装修_装修报价"] + [
        f"上海装修公司为您提供上海装修服务，选择上海装修公司就是选择放心，上海装修报价透明，第{i}家上海装修公司。"
        for i in range(8)]
    verdict = types.check(Document(text="\n".join(stuffed), id="s"))
    assert verdict and verdict[0] == "max_title_keyword_share"
    article = ["秋粮收购", *ARTICLE_BODY, "今年的秋粮收购还将延续到明年春节前后，收购价格保持稳定。"]
    doc = Document(text="\n".join(article), id="a")
    assert types.check(doc) is None and 0 < doc.metadata["title_keyword_share"] < 0.15
