"""``jinglian curate`` (the whole corpus pipeline) and ``jinglian sample`` (sample documents)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jinglian.cli import (
    SlurmOption,
    UserError,
    WorkersOption,
    console,
    describe_workers,
    executor_workers,
    fail,
    finish_run,
    save_books,
    stage_progress,
    task_progress,
    user_errors,
)
from jinglian.runs import OVERWRITE_HELP, claim, profile_setting

CURATE_EXAMPLE = """
Examples:

    jinglian sample docs.jsonl && jinglian curate docs.jsonl --out curated

    jinglian curate https://news.example.cn/ --out site --max-pages 200     # crawl first

    jinglian curate CC-MAIN-*.warc.gz --out cc --workers 8 --threshold 0.8

Inputs are documents (JSONL(.gz) with `text`, datatrove JSONL, Parquet, .txt), web pages (WARC,
WET, .html, or JSONL with `html` via --from web) or URLs to crawl. Steps: [crawl →] [extract →]
normalize (NFKC that keeps Chinese punctuation, 繁→简) → filters (--profile, default zh-web) →
exact + MinHash dedup (--no-dedup to skip) → write. Outputs: OUT/documents/, OUT/rejected/<step>/,
OUT/stats.json (the books), OUT/logs/ or OUT/dedup/. Run the same command again after an
interruption: finished tasks are skipped.
"""

WEB_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz", ".html", ".htm")


def _holds_web_pages(path: str, pages_only: bool = True) -> bool:
    """A web-page file, or a folder whose files are web pages only (a folder of WARCs is web input)."""
    from jinglian.corpus.readers import SUPPORTED_SUFFIXES

    p = Path(path)
    if not p.is_dir():
        return path.lower().endswith(WEB_SUFFIXES)
    names = [f.name.lower() for f in p.rglob("*") if f.is_file()]
    web = any(n.endswith(WEB_SUFFIXES) for n in names)
    return web and (not pages_only or not any(n.endswith(SUPPORTED_SUFFIXES) for n in names))


def _crawl_first(urls: list[str], out: Path, max_pages: int, max_depth: int, delay: float, allow_private: bool) -> list[str]:
    """Crawl in a child process: forking pipeline workers after Twisted's threads ran here can hang."""
    import subprocess
    import sys

    crawl_dir = out / "crawl"
    argv = [sys.executable, "-m", "jinglian.cli", "crawl", *urls, "--out", str(crawl_dir), "--max-pages", str(max_pages),
            "--max-depth", str(max_depth), "--delay", str(delay)]
    argv += ["--allow-private"] if allow_private else []
    argv += ["--resume"] if (crawl_dir / "crawl_log.jsonl").exists() else []
    if subprocess.run(argv).returncode != 0:
        raise UserError(f"the crawl of {' '.join(urls)} failed (see above)")
    warcs = sorted(str(p) for p in (crawl_dir / "warc").glob("*.warc.gz"))
    if not warcs:
        raise UserError(f"the crawl of {' '.join(urls)} stored no pages (see {crawl_dir / 'crawl_log.jsonl'})")
    return warcs


def curate(
    inputs: Annotated[list[str], typer.Argument(help="Input files, folders or URLs.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    source: Annotated[str, typer.Option("--from", help="auto | documents | web (pages to extract).")] = "auto",
    profile: Annotated[str, typer.Option(help="Filter profile: zh-web, a YAML file, or 'none'.")] = "zh-web",
    dedup: Annotated[bool, typer.Option("--dedup/--no-dedup", help="Exact + MinHash near-duplicate removal.")] = True,
    threshold: Annotated[float, typer.Option(help="Dedup: estimated Jaccard of character 5-grams (3-grams under 400 characters).")] = 0.7,
    index: Annotated[Path | None, typer.Option(help="Dedup against (and add to) this incremental index.")] = None,
    workers: WorkersOption = None,
    tasks: Annotated[int, typer.Option(help="Tasks to split the input files into (default: one per file).")] = 0,
    executor: Annotated[str, typer.Option(help="local | ray | slurm")] = "local",
    slurm_option: SlurmOption = None,
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    t2s: Annotated[bool, typer.Option("--t2s/--no-t2s", help="Convert traditional to simplified (OpenCC t2s).")] = True,
    txt_mode: Annotated[str, typer.Option(help="For .txt inputs: 'file' (one doc per file) or 'paragraph' (per blank-line block).")] = "file",
    on_error: Annotated[str, typer.Option(help="Bad records: 'fail' (stop with file:line) or 'skip' (to rejected/).")] = "fail",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
    id_key: Annotated[str, typer.Option(help="Field holding the document id (default: file/line).")] = "id",
    max_pages: Annotated[int, typer.Option(help="Crawl (URL inputs): at most this many pages.")] = 1000,
    max_depth: Annotated[int, typer.Option(help="Crawl: links followed from a seed.")] = 8,
    delay: Annotated[float, typer.Option(help="Crawl: seconds between requests to one domain.")] = 1.0,
    allow_private: Annotated[bool, typer.Option(help="Crawl: allow private and loopback addresses.")] = False,
    benchmarks: Annotated[list[str] | None, typer.Option("--benchmarks", help="Decontaminate against these benchmark files/folders ([NAME=]PATH, repeat); see `jinglian decontaminate --help`.", show_default=False)] = None,
    decontam_mode: Annotated[str, typer.Option(help="Decontamination: drop (the document) | cut (the copied spans).")] = "drop",
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
) -> None:
    """The whole corpus pipeline: [crawl →] [extract →] normalize → filter → dedup → write."""
    from jinglian.corpus.curate import CurateOptions, curate_pipeline, curate_stages
    from jinglian.corpus.decontam.benchmarks import parse_spec
    from jinglian.corpus.dedup.runner import run_stages
    from jinglian.corpus.executors import parse_slurm_options, run_pipeline
    from jinglian.corpus.extract import expand_web_inputs
    from jinglian.corpus.filters import load_profile
    from jinglian.corpus.readers import InputError, expand_inputs
    from jinglian.corpus.stats import RunBooks

    with user_errors():
        urls = [i for i in inputs if i.startswith(("http://", "https://"))]
        paths = [i for i in inputs if i not in urls]
        if source == "auto":
            source = "web" if urls or any(_holds_web_pages(p) for p in paths) else "documents"

        def expand(paths: list[str]) -> list[str]:
            if source == "web":
                return expand_web_inputs(paths)
            try:
                return expand_inputs(paths)
            except InputError as err:
                if err.reason == "no_input" and _holds_web_pages(err.path, pages_only=False):
                    raise UserError(f"{err} (it holds web pages: WARC/WET/HTML; use --from web)") from None
                raise

        local = expand(paths) if paths else []
        bench_files = [parse_spec(b)[1] for b in benchmarks or []]
        claim(out, "curate", [*urls, *local, *bench_files], {
            "from": source, "profile": profile_setting(load_profile(profile)) if profile != "none" else None,
            "dedup": dedup, "threshold": threshold, "index": index, "tasks": tasks, "format": fmt, "t2s": t2s,
            "txt_mode": txt_mode, "benchmarks": benchmarks, "decontam_mode": decontam_mode, "on_error": on_error, "text_key": text_key, "id_key": id_key,
            "crawl": {"max_pages": max_pages, "max_depth": max_depth, "delay": delay, "allow_private": allow_private}
            if urls else None}, overwrite, say=console.print)
        files = expand(paths + _crawl_first(urls, out, max_pages, max_depth, delay, allow_private)) if urls else local
        opts = CurateOptions(
            source=source, t2s=t2s, profile=None if profile == "none" else profile, dedup=dedup,
            threshold=threshold, index_dir=index, fmt=fmt, txt_mode=txt_mode, on_error=on_error,
            text_key=text_key, id_key=id_key,
        )
        if benchmarks:
            from jinglian.corpus.decontam import prepare_index

            prepare_index(out, benchmarks)
            opts.decontam_dir, opts.decontam_mode = out / "decontam", decontam_mode
        n_tasks = tasks or len(files)
        slurm = {"slurm_options": parse_slurm_options(slurm_option)} if executor == "slurm" else {}
        if not dedup:
            at_once = executor_workers(executor, workers, n_tasks)
            with task_progress(f"curate ({executor}, {describe_workers(at_once)})") as update:
                result = run_pipeline(curate_pipeline(files, out, opts), out, tasks=n_tasks,
                                      workers=at_once, executor=executor, on_progress=update, **slurm)
            books, wall = result.books, result.wall_seconds
        else:
            if executor == "slurm" and index:
                fail("--index needs the run to finish before the index grows: run it locally or on Ray")
            with stage_progress("curate") as on_stage:
                results = run_stages(curate_stages(files, out, opts, n_tasks), out / "dedup",
                                     workers=executor_workers(executor, workers), executor=executor,
                                     on_stage=on_stage, **slurm)
            if not results:  # submitted to Slurm as chained jobs
                console.print("submitted to Slurm as chained jobs (signature → buckets → cluster → filter); "
                              f"logs and stats will appear under {out / 'dedup'}", soft_wrap=True)
                return
            books = RunBooks(results[0].books.steps + results[-1].books.steps)
            wall = sum(r.wall_seconds for r in results)
            if index:
                from jinglian.corpus.dedup.index import DedupIndex
                from jinglian.corpus.dedup.runner import update_index

                config = opts.dedup_config()
                update_index(DedupIndex.open(index, config), out / "dedup", n_tasks, config)
    if executor == "slurm":
        console.print(f"submitted to Slurm: {n_tasks} tasks, {describe_workers(executor_workers(executor, workers, n_tasks))}; "
                      f"logs and stats will appear under {out / 'logs'}", soft_wrap=True)
        return
    save_books(books, out, f"jinglian curate: {len(files)} file(s)")
    if benchmarks:
        from jinglian.commands.decontaminate import print_contamination

        print_contamination(out)
    finish_run(books, out, wall)


def sample(
    out: Annotated[Path, typer.Argument(help="JSONL file to write.")],
    n: Annotated[int, typer.Option("--n", help="Number of documents.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same corpus).")] = 0,
) -> None:
    """Write realistic sample Chinese documents (articles, forum posts, lists, some traditional, some noisy).

    Example:

        jinglian sample docs.jsonl --n 500
    """
    from jinglian.corpus.sample import write_sample_jsonl

    path = write_sample_jsonl(out, n=n, seed=seed)
    console.print(f"wrote {n} sample documents to {path}")


def register(app: typer.Typer) -> None:
    app.command(help=(curate.__doc__ or "") + "\n\n" + CURATE_EXAMPLE)(curate)
    app.command()(sample)
