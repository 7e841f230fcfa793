"""Page types that real Chinese spam takes: catalogues, keyword stuffing, error pages, hospital ads.

Runs before line cleaning, on the page as it came (profile section ``page_types:``): the shop
buttons, hotlines and titles that give a page away are exactly the lines cleaning removes.

===========================  ================================================  ===================
rule                         statistic and unit                                threshold source
===========================  ================================================  ===================
``max_catalogue_score``      distinct shop/spec words (型号, 规格, 报价, 询价,     measured: a spec
                             加入购物车 ...) as labels (价格：), ending a title   sheet or product
                             part or heading (设备价格_厂家) or as buttons on    page scores 4+,
                             short lines, +2 when the title names a company   an article 0-2
                             (有限公司, 厂, 商城), / (sentences / 10 + 1)
``max_keyword_list_share``   characters in comma/、-separated keyword runs     measured: SEO pages
                             (6+ items of 2-10 characters, no sentence end)    are made of them
                             / non-whitespace characters
``max_error_page``           1 when a short page (< 300 Han characters) says   error pages
                             404 / 页面不存在 / 已删除 / 域名已过期 ..., else 0     (issue 11)
``max_gambling_site_title``  1 when the title names a gambling site: digits    spam site farms
                             glued to 娱乐/电子游戏/体育/官网/棋牌 (6163银河电子    (issue 11)
                             游戏网站), else 0
``max_seo_template_phrases`` distinct phrases of the content-farm template    measured: articles and
                             (有人问 ... 你知道这是怎么回事, 下面就一起来看看,   how-tos have 0-1, a
                             希望能够帮助到大家, 以上就是...相关内容, 小编为大家) farm page 4+
``max_title_keyword_share``  characters of the body (after the title) that   measured: real clean
                             repeat one title keyword (a title part of 2-12   pages ≤ 0.04 (an
                             characters) / the body's characters              article naming its
                                                                              subject 93 times: 0.03)
``max_medical_ad_score``     distinct hospital-advert phrases (哪家医院好,        measured: a medical
                             预约挂号, 咨询热线, 乘车路线, 治愈率 ...), doubled    Q&A has 0-1, an
                             when a disease that such ads target is named      advert 3+
===========================  ================================================  ===================
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from datatrove.data import Document

from jinglian.corpus.filters.rules import RuleFilter, RuleSpec
from jinglian.corpus.filters.textstats import HAN_RE, WHITESPACE_RE, both_scripts, non_empty_lines

# What a shop page shows: field words as labels ("价格：面议"), closing a title part, heading or
# table cell ("设备价格_厂家", "型号规格"), and shop buttons and menu items on short lines. In a
# sentence the same words are just words: market news says 价格, 库存 and 销量 in sentences.
CATALOGUE_FIELD_RE = re.compile(both_scripts(
    r"型号|规格|参数|报价|询价|价格|单价|市场价|批发价|批发|起订量|起订|库存|货号|包装|材质|尺寸|产地|品牌|厂家|供应"
    r"|销量|运费|包邮|现货|交货期|商品编号|产品编号|送货|发货"
))
CATALOGUE_FIELD_END_RE = re.compile(f"(?:{CATALOGUE_FIELD_RE.pattern})$")
CATALOGUE_BUTTON_RE = re.compile(both_scripts(
    r"加入购物车|立即购买|购物车|购物篮|购物袋|在线订购|立即下单|我的订单|产品中心|产品展示|产品分类|产品列表"
    r"|产品详情|产品说明|产品参数|技术参数|商品详情|简要描述|在线留言|在线询价|立即咨询|获取报价|服务热线|销售热线"
    r"|联系我们|联系方式|网上商店|在线商店|商店"
))
_COMPANY_TITLE_RE = re.compile(both_scripts(r"有限公司|有限责任公司|股份公司|集团|制造厂|工厂|商城|旗舰店|专卖店|批发"))
_SENTENCE_END = re.compile(r"[。！？!?]")
_LABEL_VALUE_RE = re.compile(r"\s{0,3}(?:[:：]|[¥￥$]\s{0,3}\d)")  # 价格：面议, 价格 ¥28 (not 价格30元: a sentence says that)
_SEGMENT_SPLIT_RE = re.compile(r"[_|｜\s\-–—/>]+")  # the parts of a title, a menu or a table row
_TITLE_PART_SPLIT_RE = re.compile(r"[_|｜\-–—\s,，、:：()（）【】\[\]!！?？。·]+")
_FIELD_WORD_MAX_CHARS = 4  # the longest field word (商品编号): the tail of a part to search
_LABEL_LINE_CHARS = 30  # a line this short is a button or a menu item, not a sentence
_KEYWORD_SEPARATORS = re.compile(r"[，,、|]\s*")
_SENTENCE_MARKS = frozenset("。！？!?")
ERROR_RE = re.compile(both_scripts(
    r"(?<!\d)404\s*(?:错误|error|not found|页面)|(?:错误|error)\s*(?:代码)?[:：]?\s*404|页面不存在|页面未找到|找不到(?:该|此)?页面|您(?:所)?访问的页面|内容(?:已被|已)删除|该内容已删除|文章不存在"
    r"|帖子(?:已被删除|不存在)|信息已过期|域名(?:已)?(?:过期|到期)|网站(?:已)?(?:过期|到期|关闭)|空间(?:已)?(?:过期|到期)"
    # "not found" alone is the tail of every tool's message (command not found, module not found):
    # only a page that is not found is an error page
    r"|page not found|正在建设中|暂无(?:内容|数据)|网站维护中"
    r"|请先登录|您需要登录|您必须(?:先)?(?:注册|登录|登入)|(?:登录|登入|注册)后才能|没有权限|无权(?:访问|查看)|权限不足"),
    re.I,
)
MEDICAL_AD_PHRASES = (
    "哪家医院好", "哪家好", "最好的医院", "哪个医院好", "医院排名", "权威医院", "专科医院", "预约挂号", "在线预约",
    "网上预约", "免费咨询", "在线咨询", "咨询热线", "预约热线", "咨询电话", "乘车路线", "来院路线", "专家在线",
    "特色疗法", "治愈率", "根治", "包治", "无效退款", "费用多少", "多少钱", "特需门诊", "专家团队", "名医",
)
MEDICAL_AD_RE = re.compile(both_scripts("|".join(MEDICAL_AD_PHRASES) + r"|(?:扫描|扫)二维码.{0,4}预约|随时预约"))
# The intro/outro template of Chinese SEO content farms ("提起X，大家都知道，有人问Y，另外，还有人想
# 问Z，你知道这是怎么回事？...下面就一起来看看...希望能够帮助到大家！"). One or two of these phrases
# occur in a real how-to; a farm page strings four or more together.
SEO_TEMPLATE_RE = re.compile(both_scripts(
    r"大家都知道|有人问|还有人想问|你知道这是怎么回事|怎么回事呢"
    r"|下面(?:就)?(?:一起|让我们|跟随小编|和小编)(?:一起)?来?看看"
    r"|希望(?:能够|能|可以)?(?:帮助到|帮到)(?:大家|你|您)|希望(?:对|能对)(?:大家|你|您)有所?帮助"
    r"|小编(?:就|来|为大家|给大家|今天|整理|带来)|以上就是.{0,20}(?:全部|相关)内容"
    r"|相信(?:很多|不少)(?:人|朋友|小伙伴)|很多(?:人|朋友)(?:都)?(?:不知道|想知道|不太清楚|不了解)"
    r"|(?:今天|本文|这篇文章)(?:就|将|我们)?(?:来)?(?:给|为|和)大家(?:介绍|讲解|分享|聊聊|解答|详细)"
    r"|感兴趣的(?:朋友|小伙伴)|一起来(?:了解|看)一下|小伙伴们"
))
# Diseases and services that hospital-advert SEO targets (private "专科" hospitals).
AD_DISEASE_RE = re.compile(both_scripts(
    r"白癜风|牛皮癣|银屑病|癫痫|羊癫疯|不孕|不育|男科|妇科|阳痿|早泄|前列腺|包皮|性病|尖锐湿疣|梅毒|淋病|人流|无痛人流"
    r"|流产|狐臭|腋臭|痔疮|肛肠|肛瘘|鼻炎|湿疹|荨麻疹|脱发|斑秃|近视手术|割双眼皮|隆胸|整形|抑郁症|精神病|乙肝"
))
# A gambling site's name in the title: digits glued to a brand-like word and a gambling service,
# e.g. "6163银河电子游戏网站", "3983金沙娱乐", "188体育官网". Not a number with its unit or counter
# (2023年体育中考, 第125届, 100种棋牌), and not 官网 on its own: every service has an official site
# (12306官网). The digit run starts where digits start and is possessive: linear on long runs.
GAMBLING_SITE_RE = re.compile(both_scripts(
    r"(?<!\d)\d{3,}+(?![年月日号届期级次个名位家所种项条款场天周岁元万千百亿])"
    r"[\u4e00-\u9fffA-Za-z]{0,4}(?:娱乐|电子游戏|电子游艺|游戏网站|棋牌|体育|彩票|赌场|真人|游乐场)"
))
_TITLE_MAX_CHARS = 200  # a title is this short; a page whose first line runs on is judged on its start


def catalogue_score(text: str, max_chars: int = 20000) -> float:
    text = text[:max_chars]  # a shop page shows itself early; keyword dumps run to 60,000+
    title = text.lstrip().split("\n", 1)[0]
    markers = set()
    for line in text.split("\n"):
        line = line.strip()
        if len(line) <= _LABEL_LINE_CHARS:
            markers.update(CATALOGUE_BUTTON_RE.findall(line))
        for match in CATALOGUE_FIELD_RE.finditer(line):
            if _LABEL_VALUE_RE.match(line, match.end()):  # 价格：面议
                markers.add(match.group())
        for segment in _SEGMENT_SPLIT_RE.split(line):  # a heading or title part that ends with it:
            match = CATALOGUE_FIELD_END_RE.search(segment[-_FIELD_WORD_MAX_CHARS:])  # 型号规格, 产地
            if match:
                markers.add(match.group())
    company = 2 if _COMPANY_TITLE_RE.search(title) else 0
    return (len(markers) + company) / (len(_SENTENCE_END.findall(text)) / 10 + 1)


def is_keyword_run(line: str) -> bool:
    """Six or more items of 2-10 characters separated by commas, 、 or |, and no sentence end."""
    if sum(line.count(sep) for sep in "，,、|") < 5 or _SENTENCE_MARKS.intersection(line):
        return False
    items = [item for item in _KEYWORD_SEPARATORS.split(line) if item]
    return len(items) >= 6 and all(2 <= len(item) <= 10 for item in items)


def keyword_list_share(lines: list[str], chars: int) -> float:
    stuffed = sum(len(WHITESPACE_RE.sub("", line)) for line in lines if is_keyword_run(line))
    return stuffed / max(chars, 1)


def medical_ad_score(text: str) -> float:
    if not any(c in text for c in "医醫院诊診"):  # no hospital, no hospital advert (and it is fast)
        return 0.0
    phrases = len(set(MEDICAL_AD_RE.findall(text)))
    title = text.lstrip().split("\n", 1)[0]
    if re.search(f"(?:{AD_DISEASE_RE.pattern}).{{0,6}}医院", title):  # "XX白癜风医院" in the title
        phrases += 2
    return phrases * (2.0 if AD_DISEASE_RE.search(text) else 1.0)


def title_keyword_share(title: str, body: str, min_body_chars: int = 200, max_chars: int = 20000) -> tuple[float, bool]:
    """(share of the body's characters that repeat one keyword of the title, judged): SEO pages
    repeat their title's keyword ("上海装修公司") all through the text. Keywords are the title's
    parts of 2-12 characters with 2+ Han; a body under ``min_body_chars`` is not judged."""
    body = WHITESPACE_RE.sub("", body[:max_chars])
    if len(body) < min_body_chars:
        return 0.0, False
    best = 0.0
    for part in set(_TITLE_PART_SPLIT_RE.split(title)):
        if 2 <= len(part) <= 12 and len(HAN_RE.findall(part)) >= 2:
            best = max(best, body.count(part) * len(part) / len(body))
    return best, True


class PageTypes(RuleFilter):
    """Datatrove step: the page-type rules in the table above."""

    name = "page_types"
    RULES = {
        "max_catalogue_score": RuleSpec("shop/spec words per sentence", "measured"),
        "max_keyword_list_share": RuleSpec("share of non-whitespace characters", "measured"),
        "max_error_page": RuleSpec("1 if a short page is an error page", "issue 11"),
        "max_gambling_site_title": RuleSpec("1 if the title names a gambling site", "issue 11"),
        "max_medical_ad_score": RuleSpec("hospital-advert phrases (x2 with a target disease)", "measured"),
        "max_seo_template_phrases": RuleSpec("distinct content-farm template phrases", "measured"),
        "max_title_keyword_share": RuleSpec("share of body characters repeating one title keyword", "measured"),
    }

    def __init__(
        self, rules: Mapping[str, float | int | None] | None = None, min_lines: int = 3,
        rejects_dir: str | None = None,
    ):
        super().__init__(rules, rejects_dir)
        self.min_lines = min_lines

    def statistics(self, doc: Document) -> Iterator[tuple]:
        text = doc.text
        # under 300 Han characters: a page that short has fewer than ~4,000 characters (menus included)
        error = len(text) < 4000 and len(HAN_RE.findall(text)) < 300 and bool(ERROR_RE.search(text))
        yield "error_page", int(error)
        lines = non_empty_lines(text)
        yield "catalogue_score", catalogue_score(text), len(lines) >= self.min_lines
        yield "keyword_list_share", keyword_list_share(lines, len(WHITESPACE_RE.sub("", text)))
        yield "medical_ad_score", medical_ad_score(text)
        yield "seo_template_phrases", len(set(SEO_TEMPLATE_RE.findall(text[:20000])))
        title = lines[0][:_TITLE_MAX_CHARS] if len(lines) > 1 else ""
        yield "gambling_site_title", int(bool(GAMBLING_SITE_RE.search(title)))
        body = text.lstrip().split("\n", 1)[1] if title else ""
        # bounded: each title part is counted in the body, so a 1 MB "title" line was quadratic
        share, judged = title_keyword_share(str(doc.metadata.get("title") or title)[:_TITLE_MAX_CHARS], body)
        yield "title_keyword_share", share, judged
