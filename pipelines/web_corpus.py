"""Build a Chinese web corpus: crawl a site, extract, normalize, filter, dedup, export.

    python -m jinglian.pipelines.web_corpus --out corpus-out              # the bundled sample site
    python -m jinglian.pipelines.web_corpus --out corpus-out --url https://news.example.cn/

Without --url it serves jinglian's sample Chinese site on 127.0.0.1 (GBK and Big5 pages, a spam
page, near-duplicates, robots.txt, a calendar trap) and crawls that.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from jinglian.pipelines import jinglian

# Knobs
MAX_PAGES = 200  # crawl budget (page requests)
MAX_DEPTH = 6  # links followed from the seed
PROFILE = "zh-web"  # filter profile: zh-web or your YAML (extends: zh-web)
THRESHOLD = 0.7  # near-duplicate: estimated Jaccard of character 5-grams
WORKERS = 2


def build_corpus(out: Path, url: str | None = None) -> dict[str, float]:
    """Crawl → curate (extract, normalize, filter, dedup) → export; returns wall time per stage."""
    from jinglian.corpus.crawl.sample_site import serve_sample_site

    site = contextlib.nullcontext(None) if url else serve_sample_site()
    with site as sample:
        seed = url or sample.url
        private = [] if url else ["--allow-private", "--delay", "0"]  # the sample site is on 127.0.0.1
        times = {"crawl + curate": jinglian(
            "curate", seed, "--out", out / "corpus", "--max-pages", MAX_PAGES, "--max-depth", MAX_DEPTH,
            "--profile", PROFILE, "--threshold", THRESHOLD, "--workers", WORKERS, *private)}
    times["export"] = jinglian("export", out / "corpus" / "documents", "--out", out / "corpus" / "hf")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("corpus-out"))
    parser.add_argument("--url", help="a site to crawl instead of the sample site")
    args = parser.parse_args()
    build_corpus(args.out, args.url)


if __name__ == "__main__":
    main()
