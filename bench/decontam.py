"""Benchmark: jinglian decontamination against datatrove's n-gram decontamination, same input.

    .venv/bin/python bench/decontam.py                    # planted copies, clean text, 30k-item speed
    .venv/bin/python bench/decontam.py --sweep            # + recall / false matches for other n, share, run
    .venv/bin/python bench/decontam.py --speed-docs 0     # skip the throughput part

Items: the 1,781 GAOKAO-Bench objective questions in ../shared/data/benchmarks (real). Planted:
a sample of them copied into real web text (HPLT excerpts, Common Crawl documents, ChineseWebText)
in the ways 题库 / 答案解析 pages copy them (see WAYS); the copy is the question as the benchmark
file has it (with its "1．（4分）" numbering). Clean: CMRC 2018 and DRCD (traditional) paragraphs,
the extraction gold texts, ChineseWebText clean, the HPLT excerpts and CC documents as they are:
text on the same topics (history, science, literature) with no item in it. A planted copy counts as
found when the planted item is among the hits; a clean document is a false match when anything hits.

datatrove 0.10.1: ``NGramsDecontIndexer`` declares lighteval as a dependency and its ``run`` loads
lighteval tasks even when documents are given, so the index is built with the indexer's own
``compute_hashes`` (query = the item text, label = the answer; ``find_query_ngrams=True``, else only
n-grams that run from the question into the answer would be indexed) and written as its ``run``
writes it; ``NGramsDecontFilter`` then reads that folder unchanged. Its ``zh`` word tokenizer is
spaCy + jieba, n = 12 words (its default).

Speed: a 30k-item index (the 1,781 real items + generated C-Eval-like items: a question sentence and
four options drawn from the SFT / preference records in ../shared/data, which are not in the clean
set) against --speed-docs documents (rotated HPLT excerpts); CPU seconds of ``find`` only, one core.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")
GAOKAO = DATA / "benchmarks" / "gaokao_bench_objective"


def jsonl(path: Path, key: str = "text") -> list[str]:
    return [json.loads(line)[key] for line in open(path, encoding="utf-8") if line.strip()]


def hosts() -> list[str]:
    """Real web text the copies are planted into."""
    return (jsonl(DATA / "quality/hplt_zh_annotated/excerpts.jsonl") + jsonl(DATA / "quality/cc_zh_2022_49/docs.jsonl")
            + jsonl(DATA / "quality/chinesewebtext/clean.jsonl") + jsonl(DATA / "quality/chinesewebtext/dirty.jsonl"))


def clean_sets() -> dict[str, list[str]]:
    golds = [t for sub in ("magic_html_zh", "magic_html_forum_zh", "gbk_pages") for t in jsonl(DATA / "extraction" / sub / "gold.jsonl")]
    return {
        "cmrc2018 paragraphs": jsonl(DATA / "text/cmrc2018_dev_paragraphs.jsonl"),
        "drcd paragraphs (traditional)": jsonl(DATA / "text/drcd_traditional_paragraphs.jsonl"),
        "extraction gold texts": golds,
        "chinesewebtext clean": jsonl(DATA / "quality/chinesewebtext/clean.jsonl"),
        "hplt excerpts + cc docs (the hosts, unplanted)": jsonl(DATA / "quality/hplt_zh_annotated/excerpts.jsonl")
        + jsonl(DATA / "quality/cc_zh_2022_49/docs.jsonl"),
    }


def gaokao_raw() -> list[tuple[str, str, str]]:
    """(item id, question as in the file, answer) for every GAOKAO objective item."""
    out = []
    for path in sorted(GAOKAO.glob("*.json")):
        for ex in json.loads(path.read_text(encoding="utf-8"))["example"]:
            out.append((f"{path.stem}/{ex['index']}", ex["question"], " ".join(ex["answer"])))
    return out


# --- ways of copying --------------------------------------------------------------------------
_S2T = None


def s2t(text: str) -> str:
    global _S2T
    if _S2T is None:
        import opencc

        _S2T = opencc.OpenCC("s2t")
    return _S2T.convert(text)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def strip_punct(text: str) -> str:
    return "".join(c for c in text if not unicodedata.category(c).startswith("P"))


_LABEL = re.compile(r"\s*(?<![A-Za-z])([A-H])\s*[.．、:：]\s*")  # an option label, not the A of "RNA、"


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def many_lines(text: str) -> str:
    return _LABEL.sub(lambda m: f"\n{m.group(1)}、", one_line(text)).strip()


def renumbered(text: str) -> str:
    return _LABEL.sub(lambda m: f"\n({'ABCDEFGH'.index(m.group(1)) + 1}) ", text)


def plant(host: str, copy: str, answer: str, rng: random.Random) -> str:
    """The copy between two paragraphs (or sentences) of the host, as a 题库 page would show it."""
    cuts = [m.end() for m in re.finditer(r"[。！？\n]", host)] or [len(host)]
    at = rng.choice(cuts)
    head = rng.choice(["", "【题目】", "例题：", "原题如下："])
    tail = rng.choice(["", f"\n答案：{answer}", f"\n【答案】{answer}\n【解析】略。"])
    return host[:at] + "\n" + head + copy + tail + "\n" + host[at:]


def long_page(hosts_: list[str], copy: str, rng: random.Random) -> str:
    """A long page (~6 host texts with menus and footers) with the copy somewhere in the middle."""
    body = [rng.choice(hosts_) for _ in range(6)]
    body.insert(rng.randint(2, 4), copy)
    return "首页 | 试题 | 答案 | 登录\n" + "\n\n".join(body) + "\n\n关于我们 联系方式 版权所有 ©2023"


def passage_window(question: str, rng: random.Random) -> str:
    """A partial copy: 150-400 consecutive characters of a long reading passage."""
    size = rng.randint(150, 400)
    start = rng.randint(0, max(0, len(question) - size))
    return question[start : start + size]


WAYS = {
    "verbatim": lambda q, r: q,
    "traditional script": lambda q, r: s2t(q),
    "full-width punctuation": lambda q, r: fullwidth(q),
    "punctuation stripped": lambda q, r: strip_punct(q),
    "options on one line": lambda q, r: one_line(q),
    "options on many lines": lambda q, r: many_lines(q),
    "inside a longer page": lambda q, r: q,  # planted with long_page
    "partial copy of a long passage": passage_window,
}
EXTRA_WAYS = {"re-numbered options (1)(2)(3)(4), extra row": lambda q, r: renumbered(q)}


def planted_docs(n_per_way: int, seed: int) -> list[tuple[str, str, str]]:
    """(way, item id, document) for every planted copy."""
    rng = random.Random(seed)
    items = gaokao_raw()
    web = hosts()
    long_items = [it for it in items if len(it[1]) >= 800]
    docs = []
    for way, make in {**WAYS, **EXTRA_WAYS}.items():
        pool = long_items if way.startswith("partial") else items
        for item_id, question, answer in (rng.choice(pool) for _ in range(n_per_way)):
            copy = make(question, rng)
            if way == "inside a longer page":
                doc = long_page(web, copy, rng)
            else:
                doc = plant(rng.choice(web), copy, answer, rng)
            docs.append((way, item_id, doc))
    return docs


# --- engines ----------------------------------------------------------------------------------
def jinglian_engine(items, config, folder: Path):
    from jinglian.corpus.decontam.index import DecontIndex

    DecontIndex.build(items, folder, config)
    index = DecontIndex(folder)
    return lambda text: {h.item_id for h in index.find(text)}


def datatrove_engine(raw_items, folder: Path, n_grams: int = 12):
    import numpy as np
    from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter, NGramsDecontIndexer
    from datatrove.utils.hashing import HashConfig

    config = NGramsDecontConfig(n_grams=n_grams, find_query_ngrams=True, hash_config=HashConfig(hash_fc="sha1"))
    indexer = object.__new__(NGramsDecontIndexer)  # skip the lighteval import check (see module docstring)
    NGramsDecontIndexer.__init__(indexer, str(folder), config=config, language="zh")
    hashes = set()
    for _, question, answer in raw_items:
        hashes.update(indexer.compute_hashes(answer, question))
    folder.mkdir(parents=True, exist_ok=True)
    np.array(sorted(hashes), dtype=config.hash_config.np_descr).tofile(folder / "gaokao.index.hashes")
    filt = NGramsDecontFilter(str(folder), config=config, language="zh")
    from datatrove.data import Document

    def find(text: str) -> set[str]:
        return {"flagged"} if filt.filter(Document(text=text, id="x")) is not True else set()

    return find


def evaluate(find, planted, clean, exact_item: bool) -> tuple[dict, dict, float, float]:
    """Recall per way, false matches per clean set, CPU seconds and MB scanned."""
    recall: dict[str, list[int]] = {}
    cpu = time.process_time()
    mb = 0.0
    for way, item_id, doc in planted:
        hits = find(doc)
        ok = (item_id in hits) if exact_item else bool(hits)
        recall.setdefault(way, [0, 0])
        recall[way][0] += ok
        recall[way][1] += 1
        mb += len(doc.encode()) / 1e6
    false: dict[str, list[int]] = {}
    for name, texts in clean.items():
        false[name] = [sum(bool(find(t)) for t in texts), len(texts)]
        mb += sum(len(t.encode()) for t in texts) / 1e6
    return recall, false, time.process_time() - cpu, mb


# --- 30k items ---------------------------------------------------------------------------------
def synthetic_items(n: int, seed: int):
    """C-Eval-like items: a question sentence and four options, from the SFT / preference records."""
    from jinglian.corpus.decontam.benchmarks import Item

    rng = random.Random(seed)
    texts = [r["instruction"] + r.get("output", "") for r in json.load(open(DATA / "sft/alpaca_zh_demo.json", encoding="utf-8"))]
    for line in open(DATA / "sft/sharegpt_zh_dev.jsonl", encoding="utf-8"):
        texts += [t["value"] for t in json.loads(line)["conversations"]]
    sentences = sorted({s.strip() for t in texts for s in re.split(r"[。！？\n]", t) if 12 <= len(s.strip()) <= 90})
    phrases = sorted({p.strip() for s in sentences for p in re.split(r"[，、；：]", s) if 3 <= len(p.strip()) <= 20})
    items = []
    for i in range(n):
        q = rng.choice(sentences) + "，" + rng.choice(["下列说法正确的是", "以下哪项正确", "应选择", "是指"]) + "（ ）"
        opts = "\n".join(f"{k}. {rng.choice(phrases)}" for k in "ABCD")
        items.append(Item("synthetic", f"syn/{i}", q + "\n" + opts))
    return items


def memory_mb(field: str) -> int:
    """VmHWM (peak) or VmRSS of this process in MB: unlike ru_maxrss, not inherited across exec."""
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return -1


def speed_build(folder: Path, seed: int) -> dict:
    """Child process: build the 30k-item index; its peak memory is the build's."""
    from jinglian.corpus.decontam.benchmarks import read_benchmark
    from jinglian.corpus.decontam.index import DecontIndex

    items = read_benchmark(f"gaokao={GAOKAO}") + synthetic_items(30_000 - 1781, seed)
    cpu = time.process_time()
    meta = DecontIndex.build(items, folder)
    return {"items": meta["items"], "ngrams": meta["ngrams"], "build_cpu_s": round(time.process_time() - cpu, 1),
            "index_MB_on_disk": round(sum(p.stat().st_size for p in folder.iterdir()) / 1e6, 1),
            "build_peak_rss_MB": memory_mb("VmHWM")}


def speed_find(folder: Path, n_docs: int, seed: int) -> dict:
    """Child process: load (memory-map) the index and scan ``n_docs`` documents on one core; and the
    clean documents against this bigger index."""
    from jinglian.corpus.decontam.index import DecontIndex

    web = jsonl(DATA / "quality/hplt_zh_annotated/excerpts.jsonl")
    rss_data = memory_mb("VmRSS")
    index = DecontIndex(folder)
    rng = random.Random(seed)
    flagged, mb, cpu_find = 0, 0.0, 0.0
    for i in range(n_docs):
        t = web[i % len(web)]
        k = rng.randrange(len(t))
        doc = t[k:] + "\n" + t[:k]  # a distinct document each time, same text statistics
        mb += len(doc.encode()) / 1e6
        c = time.process_time()
        flagged += bool(index.find(doc))
        cpu_find += time.process_time() - c
    clean = [t for texts in clean_sets().values() for t in texts]
    clean_flagged = sum(bool(index.find(t)) for t in clean)
    return {"clean_flagged": f"{clean_flagged} / {len(clean)}", "docs": n_docs, "MB": round(mb, 1), "find_cpu_s": round(cpu_find, 1),
            "MB_per_s_per_core": round(mb / cpu_find, 2), "docs_flagged": flagged,
            "rss_before_index_MB": rss_data, "rss_after_scan_MB": memory_mb("VmRSS"),
            "scan_peak_rss_MB": memory_mb("VmHWM")}


def speed(n_docs: int, seed: int, tmp: Path) -> dict:
    import subprocess

    result = {}
    for part in (["build"], ["find", str(n_docs)]):
        cmd = [sys.executable, __file__, "--speed-part", *part, "--seed", str(seed), "--speed-folder", str(tmp / "idx30k")]
        result.update(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]))
    return result


def table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-way", type=int, default=300, help="planted copies per way of copying")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--speed-docs", type=int, default=100_000)
    ap.add_argument("--no-datatrove", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="also other n / min_share / long_run settings")
    ap.add_argument("--speed-part", nargs="+", help=argparse.SUPPRESS)  # child processes of the speed test
    ap.add_argument("--speed-folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.speed_part:
        folder = Path(args.speed_folder)
        part = speed_build(folder, args.seed) if args.speed_part[0] == "build" else speed_find(folder, int(args.speed_part[1]), args.seed)
        print(json.dumps(part))
        return

    from jinglian.corpus.decontam.benchmarks import read_benchmark
    from jinglian.corpus.decontam.index import MatchConfig

    items = read_benchmark(f"gaokao={GAOKAO}")
    planted = planted_docs(args.per_way, args.seed)
    clean = clean_sets()
    tmp = Path(tempfile.mkdtemp(prefix="bench_decontam_"))
    print(f"{len(items)} GAOKAO items; {len(planted)} planted documents; "
          f"{sum(map(len, clean.values()))} clean documents", flush=True)

    engines = {"jinglian (defaults)": (lambda: jinglian_engine(items, MatchConfig(), tmp / "j"), True)}
    if args.sweep:
        for n, share, run in [(8, 0.8, 50), (13, 0.8, 50), (16, 0.8, 50), (10, 0.7, 50), (10, 0.9, 50),
                              (10, 0.8, 30), (10, 0.8, 80), (10, 0.8, 120)]:
            cfg = MatchConfig(n=n, min_share=share, long_run=run)
            engines[f"jinglian n={n} share={share} run={run}"] = (lambda c=cfg: jinglian_engine(items, c, tmp / "s"), True)
    if not args.no_datatrove:
        engines["datatrove NGramsDecont (zh, 12 words)"] = (lambda: datatrove_engine(gaokao_raw(), tmp / "dt"), False)

    results = {}
    for name, (make, exact) in engines.items():
        find = make()
        results[name] = evaluate(find, planted, clean, exact)
        print(f"done: {name}", file=sys.stderr, flush=True)

    ways = list({w: None for w, _, _ in planted})
    rows = [[w] + [f"{r[0][w][0] / r[0][w][1]:.1%} ({r[0][w][0]}/{r[0][w][1]})" for r in results.values()] for w in ways]
    print("\n### Recall of planted copies (the planted item found)\n")
    print(table(rows, ["way of copying", *results]))
    rows = [[s] + [f"{r[1][s][0]} / {r[1][s][1]}" for r in results.values()] for s in clean]
    tot = [sum(r[1][s][0] for s in clean) for r in results.values()]
    n_clean = sum(map(len, clean.values()))
    rows.append(["**all clean documents**"] + [f"{t} / {n_clean} ({t / n_clean:.2%})" for t in tot])
    print("\n### False matches on clean text (documents with any hit)\n")
    print(table(rows, ["clean set", *results]))
    rows = [[name, f"{r[3]:.1f}", f"{r[2]:.1f}", f"{r[3] / r[2]:.2f}"] for name, r in results.items()]
    print("\n### Speed on this input (1,781-item index; one core)\n")
    print(table(rows, ["engine", "MB scanned", "CPU s", "MB/s"]))
    if args.speed_docs:
        s = speed(args.speed_docs, args.seed, tmp)
        print("\n### 30k-item index (1,781 GAOKAO + generated C-Eval-like items), one core\n")
        print(table([list(s.values())], list(s.keys())))


if __name__ == "__main__":
    main()
