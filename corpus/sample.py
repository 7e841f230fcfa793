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
    return ["".join(rng.sample(sentences, k=rng.randint(2, 4))) for _ in range(n)]


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
