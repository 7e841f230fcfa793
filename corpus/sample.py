"""Sample Chinese documents the project writes itself, for the demo and the tests.

Articles, forum posts and lists are assembled from sentence banks written for jinglian (no
third-party text), with a seeded RNG so the same seed gives the same corpus. Some documents come
out in traditional script (OpenCC s2t) and some carry the noise web text has: full-width ASCII,
zero-width characters, indentation with ideographic spaces and stray blank lines.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TOPICS: dict[str, list[str]] = {
    "科技": [
        "近年来，人工智能技术在医疗、交通和教育等领域得到了广泛应用。",
        "研究团队表示，新一代芯片的能耗比上一代降低了三成左右。",
        "专家认为，数据安全和个人隐私保护是数字经济发展的前提。",
        "这款开源软件的开发者来自全国二十多所高校和企业。",
        "工程师们花了两年时间，才把系统的响应时间缩短到一秒以内。",
        "不少中小企业开始尝试用云计算替代自建机房，以降低运维成本。",
        "业内人士提醒，新技术落地需要配套的标准和人才培养。",
        "在发布会上，负责人演示了语音识别在嘈杂环境下的表现。",
    ],
    "经济": [
        "国家统计局公布的数据显示，上季度社会消费品零售总额同比增长。",
        "受原材料价格上涨影响，部分制造企业的利润空间受到挤压。",
        "分析人士指出，稳就业仍然是今年经济工作的重点之一。",
        "随着跨境电商的发展，越来越多的国产品牌走向海外市场。",
        "地方政府出台了一系列措施，支持小微企业渡过难关。",
        "业内预计，明年新能源汽车的市场份额还将继续提升。",
        "银行方面表示，将进一步简化贷款审批流程，提高服务效率。",
        "这家老字号企业通过直播带货，一年内销售额翻了一番。",
    ],
    "教育": [
        "新学期开始，学校在课后服务中增加了阅读和体育活动。",
        "许多家长关心孩子的近视问题，希望减少电子产品的使用时间。",
        "教师们认为，培养学生的自主学习能力比背诵答案更重要。",
        "这所乡村小学通过远程课堂，让学生听到了城市名师的课。",
        "教育部门强调，要切实减轻学生过重的作业负担。",
        "大学毕业生在选择职业时，越来越看重个人发展空间。",
        "图书馆延长了开放时间，方便学生在考试期间自习。",
        "研究表明，充足的睡眠对青少年的记忆力有明显帮助。",
    ],
    "健康": [
        "医生提醒，秋冬季节是呼吸道疾病的高发期，要注意保暖。",
        "合理膳食、适量运动和规律作息是保持健康的基础。",
        "长时间伏案工作的人，应每隔一小时起身活动一下颈椎。",
        "专家建议，成年人每天的饮水量保持在一千五百毫升左右。",
        "社区医院开展了免费体检活动，吸引了不少老年居民参加。",
        "过量饮酒会增加肝脏负担，也是多种慢性病的危险因素。",
        "儿童接种疫苗前，家长应如实告知医生孩子的健康状况。",
        "心理健康同样重要，遇到压力时可以向家人或专业人士求助。",
    ],
    "旅游": [
        "国庆假期期间，古镇景区接待游客人数创下历史新高。",
        "这条徒步线路沿途风景秀丽，适合周末短途出行。",
        "当地推出了夜游项目，游客可以乘船欣赏两岸的灯光。",
        "景区提醒游客提前网上预约，错峰出行，避免排队。",
        "不少年轻人喜欢到小城市旅行，体验当地的美食和生活节奏。",
        "博物馆新开设的展厅展出了数百件珍贵文物。",
        "山区的民宿经营者表示，今年的入住率明显高于去年。",
        "导游介绍说，这座古桥已有六百多年的历史。",
    ],
}

FORUM_OPENERS = ["楼主你好，", "路过看看，", "同问，", "说说我的经历吧，", "顶一下，"]
FORUM_REPLIES = [
    "我家附近也是这种情况，后来换了一家就好多了。",
    "感谢分享，收藏了，回头试试看。",
    "个人觉得还是要看具体情况，不能一概而论。",
    "上周刚去过，人确实挺多的，建议早点出发。",
    "这个问题我也遇到过，重启一下路由器就解决了。",
    "支持楼主，说得很有道理。",
    "有没有懂行的朋友给解答一下？谢谢！",
]
LIST_ITEMS = [
    "准备好身份证和相关证明材料",
    "提前在网上填写申请表",
    "按照预约时间到窗口办理",
    "缴纳相关费用并保存好收据",
    "留意短信通知，按时领取结果",
    "如有疑问，可拨打服务热线咨询",
]

_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}


def _paragraphs(rng: random.Random, sentences: list[str], n: int) -> list[str]:
    """``n`` paragraphs (at most one per two sentences), no sentence used twice in a document:
    repeated sentences are what the repetition filters rightly drop as spam."""
    pool = rng.sample(sentences, k=rng.randint(min(4, len(sentences)), len(sentences)))
    n = max(1, min(n, len(pool) // 2))
    return ["".join(pool[i::n]) for i in range(n)]


def _article(rng: random.Random, topic: str) -> str:
    title = f"【{topic}】" + rng.choice(TOPICS[topic])[:12].rstrip("，。")
    return "\n\n".join([title] + _paragraphs(rng, TOPICS[topic], rng.randint(3, 5)))


def _forum(rng: random.Random, topic: str) -> str:
    question = rng.choice(TOPICS[topic]).rstrip("。") + "，大家怎么看？"
    replies = [f"{i}楼：{rng.choice(FORUM_OPENERS)}{rng.choice(FORUM_REPLIES)}" for i in range(2, rng.randint(4, 7))]
    return "\n".join([f"1楼：{question}"] + replies)


def _list(rng: random.Random, topic: str) -> str:
    steps = rng.sample(LIST_ITEMS, k=rng.randint(3, 5))
    return "办事指南\n" + "\n".join(f"{i}. {step}；" for i, step in enumerate(steps, 1)) + "\n以上流程仅供参考。"


def _add_noise(rng: random.Random, text: str) -> str:
    """Web-style noise the normalizer must undo: full-width ASCII, zero-width spaces, indentation."""
    text = text.replace("一千五百毫升", "１５００ｍｌ").replace("六百多年", "６００多年")
    text = "".join(_FULLWIDTH.get(c, c) if rng.random() < 0.5 else c for c in text)
    lines = [("\u3000\u3000" + line if line else line) for line in text.split("\n")]
    text = "\n".join(lines).replace("。", "。\u200b", 2)
    return text + "\n\n\n\n" + f"Ｅｄｉｔｏｒ：ＷＡＮＧ  {rng.randint(1, 30)}日"


def sample_documents(n: int = 200, seed: int = 0) -> list[dict]:
    """``n`` documents as ``{"id", "text", "metadata": {"kind", "topic"}}`` records."""
    import opencc

    to_traditional = opencc.OpenCC("s2t")
    rng = random.Random(seed)
    makers = {"article": _article, "forum": _forum, "list": _list}
    docs = []
    for i in range(n):
        kind = rng.choices(list(makers), weights=[6, 3, 1])[0]
        topic = rng.choice(list(TOPICS))
        text = makers[kind](rng, topic)
        variant = "plain"
        if rng.random() < 0.15:
            text, variant = to_traditional.convert(text), "traditional"
        elif rng.random() < 0.2:
            text, variant = _add_noise(rng, text), "noisy"
        docs.append({"id": f"sample-{i:05d}", "text": text, "metadata": {"kind": kind, "topic": topic, "variant": variant}})
    return docs


def write_sample_jsonl(path: str | Path, n: int = 200, seed: int = 0) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for doc in sample_documents(n, seed):
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# Dirty documents: what the filters must drop. Separate from ``sample_documents`` (whose output
# stays unchanged); written for jinglian from patterns seen on the Chinese web, no third-party text.
# ---------------------------------------------------------------------------------------------

GAMBLING_SITES = ["澳门威尼斯人", "澳门新葡京", "金沙娱乐城", "太阳城集团", "皇冠体育", "永利皇宫", "银河娱乐"]
GAMBLING_GAMES = ["百家乐", "时时彩", "北京赛车", "六合彩", "真人视讯", "体育投注", "老虎机", "捕鱼游戏"]
GAMBLING_PITCH = [
    "首存即送百分之百彩金，注册就送彩金",
    "官方直营，信誉平台，提款秒到账",
    "每日返水无上限，万人在线同时下注",
    "最新网址请收藏，防止走丢",
    "真人荷官在线发牌，公平公正",
]
PORN_LINES = [
    "同城交友约炮，附近美女一夜情",
    "免费成人视频在线观看，高清无码",
    "午夜福利视频，老司机带你看片",
    "裸聊直播间，性感美女主播在线",
    "成人电影网站，每日更新精品资源",
]
SEO_PRODUCTS = ["不锈钢水箱", "钢结构厂房", "除甲醛公司", "无缝钢管", "办公家具", "防水涂料"]
SEO_SUFFIXES = ["价格", "多少钱", "哪家好", "厂家", "批发", "报价", "图片", "排名", "电话", "直销"]
NAV_ITEMS = [
    "首页", "新闻中心", "产品展示", "联系我们", "关于我们", "在线留言", "网站地图", "企业文化", "人才招聘",
    "上一篇", "下一篇", "返回顶部", "设为首页", "加入收藏", "热门标签", "最新文章", "友情链接", "版权所有",
]
CONTACT_SERVICES = ["代开发票", "办理各类证件", "高价回收手机", "无抵押贷款", "刷单兼职日结", "POS机办理"]
CODE_LINES = [
    "import os", "def main():", "    for i in range(10):", "        print(i)", "if __name__ == '__main__':",
    "    main()", "#include <stdio.h>", "int main(void) {", "    return 0;", "}",
]
ENGLISH_NAV = ["Home", "About Us", "Products", "Contact", "Login", "Register", "Privacy Policy", "Terms of Use"]
_PINYIN = {"新": "xin", "闻": "wen", "学": "xue", "校": "xiao", "市": "shi", "技": "ji", "术": "shu",
           "中": "zhong", "心": "xin", "大": "da", "赛": "sai", "届": "jie", "动": "dong", "育": "yu",
           "的": "de", "是": "shi", "在": "zai", "人": "ren", "了": "le", "有": "you", "和": "he", "业": "ye",
           "发": "fa", "展": "zhan", "生": "sheng", "医": "yi", "健": "jian", "康": "kang", "家": "jia", "年": "nian",
           "游": "you", "客": "ke", "景": "jing", "区": "qu", "地": "di", "史": "shi", "经": "jing", "企": "qi"}


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


def _dirty_gambling(rng: random.Random) -> str:
    site = rng.choice(GAMBLING_SITES)
    lines = [f"{site}官网 - {rng.choice(GAMBLING_GAMES)} {rng.choice(GAMBLING_GAMES)} 在线娱乐"]
    for _ in range(rng.randint(4, 8)):
        lines.append(f"{rng.choice(GAMBLING_PITCH)}，{rng.choice(GAMBLING_GAMES)}{rng.choice(['火爆进行中', '等你来玩', '天天开奖'])}")
    lines.append(f"客服QQ：{rng.randint(10000000, 999999999)} 网址：www.{rng.randint(100, 999)}{rng.choice(['bet', 'vip', 'yl'])}.com")
    return "\n".join(lines)


def _dirty_porn(rng: random.Random) -> str:
    lines = rng.sample(PORN_LINES, k=4) + [f"加微信{_phone(rng)}看更多", "点击进入>>"]
    return "\n".join(lines * rng.randint(1, 2))


def _dirty_seo(rng: random.Random) -> str:
    product = rng.choice(SEO_PRODUCTS)
    words = [product + rng.choice(SEO_SUFFIXES) for _ in range(rng.randint(25, 45))]
    city = rng.choice(["北京", "上海", "广州", "深圳", "成都", "郑州"])
    return f"{city}{product}，" + "，".join(words) + f"。{city}{product}欢迎来电咨询。"


def _dirty_nav(rng: random.Random) -> str:
    items = rng.sample(NAV_ITEMS, k=rng.randint(10, 16))
    return "\n".join(items + [f"Copyright © 20{rng.randint(10, 24)} 版权所有 备案号：京ICP备{rng.randint(10000000, 99999999)}号"])


def _dirty_gibberish(rng: random.Random) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(200, 400)))


def _dirty_contact(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(4, 7)):
        service = rng.choice(CONTACT_SERVICES)
        lines.append(f"{service}，电话{_phone(rng)}，QQ{rng.randint(10000000, 999999999)}，微信同号，诚信经营")
    return "\n".join(lines)


def _dirty_pinyin(rng: random.Random) -> str:
    topic = rng.choice(list(TOPICS))
    text = "".join(rng.sample(TOPICS[topic], k=4))
    return "".join(f"{c}({_PINYIN[c]})" if c in _PINYIN else c for c in text)


def _dirty_hidden_gambling(rng: random.Random) -> str:
    """A normal-looking article with gambling site names slipped in (the hard Common Crawl case)."""
    topic = rng.choice(list(TOPICS))
    paragraphs = _paragraphs(rng, TOPICS[topic], 3)
    site, game = rng.choice(GAMBLING_SITES), rng.choice(GAMBLING_GAMES)
    paragraphs.insert(1, f"（本文由{site}{game}独家赞助，{site}官网注册送彩金）")
    paragraphs.append(f"相关推荐：{site}｜{rng.choice(GAMBLING_SITES)}｜{game}")
    return "\n\n".join(paragraphs)


def _dirty_code(rng: random.Random) -> str:
    return "\n".join(rng.choice(CODE_LINES) for _ in range(rng.randint(15, 30)))


def _dirty_english_nav(rng: random.Random) -> str:
    return "\n".join(rng.sample(ENGLISH_NAV, k=6) + ["新闻", "Copyright 2023 All rights reserved"])


def _dirty_repeated(rng: random.Random) -> str:
    line = rng.choice(TOPICS[rng.choice(list(TOPICS))])
    return "\n".join([line] * rng.randint(8, 20))


DIRTY_KINDS = {
    "gambling": _dirty_gambling,
    "porn": _dirty_porn,
    "seo": _dirty_seo,
    "nav": _dirty_nav,
    "gibberish": _dirty_gibberish,
    "contact": _dirty_contact,
    "pinyin": _dirty_pinyin,
    "hidden_gambling": _dirty_hidden_gambling,
    "code": _dirty_code,
    "english_nav": _dirty_english_nav,
    "repeated": _dirty_repeated,
}


def dirty_documents(n: int = 110, seed: int = 0) -> list[dict]:
    """``n`` documents the filters must drop, kinds in turn: ``{"id", "text", "metadata": {"kind"}}``."""
    rng = random.Random(seed)
    kinds = list(DIRTY_KINDS)
    docs = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        docs.append({"id": f"dirty-{i:05d}", "text": DIRTY_KINDS[kind](rng), "metadata": {"kind": kind, "label": "dirty"}})
    return docs


# Clean documents that look like the dirty ones in one respect (a phone number, a word from a
# blocklist, short lines): what the filters must keep. Sentences are not repeated inside a
# document, unlike ``sample_documents`` articles (which repeat sentences across paragraphs).
HARD_CLEAN = [
    "警方近日破获一起网络赌博案件，涉案人员利用境外服务器组织赌博。警方提醒市民，远离赌博，"
    "不要轻信所谓的高回报投资。如发现相关线索，请及时向公安机关举报。",
    "本公司成立于二〇〇八年，主要从事办公家具的研发和生产。产品远销东南亚和欧洲市场。"
    "欢迎各界朋友来电洽谈合作，联系电话：010-62345678，邮箱：service@example.com。",
    "网络安全法实施以来，各地网信部门加强了对网络平台的监管。专家表示，网络空间不是法外之地，"
    "平台应当履行主体责任，及时清理色情、赌博等违法信息，保护未成年人的身心健康。",
    "楼主你好，我也在找兼职的工作。\n2楼：建议去正规的招聘网站看看，不要相信日结高薪的广告。\n"
    "3楼：同意楼上，上个月我朋友就被骗了押金。\n4楼：谢谢大家提醒，我会注意的。",
]


def clean_web_documents(n: int = 60, seed: int = 0) -> list[dict]:
    """``n`` clean documents: articles without repeated sentences, forum threads, lists, and the
    hard-clean cases above, as ``{"id", "text", "metadata": {"kind", "label": "clean"}}``."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        topic = rng.choice(list(TOPICS))
        choice = i % 4
        if choice in (0, 1):
            sentences = rng.sample(TOPICS[topic], k=len(TOPICS[topic]))
            cut = rng.randint(3, 5)
            text = "\n\n".join([f"【{topic}】{sentences[0][:10].rstrip('，。')}", "".join(sentences[:cut]), "".join(sentences[cut:])])
            kind = "article"
        elif choice == 2:
            text, kind = _forum(rng, topic), "forum"
        else:
            text, kind = HARD_CLEAN[(i // 4) % len(HARD_CLEAN)], "hard_clean"
        docs.append({"id": f"clean-{i:05d}", "text": text, "metadata": {"kind": kind, "topic": topic, "label": "clean"}})
    return docs
