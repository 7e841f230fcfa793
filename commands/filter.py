"""``jinglian filter``: quality filtering by profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from jinglian.cli import (
    SlurmOption,
    WorkersOption,
    console,
    describe_workers,
    executor_workers,
    finish_run,
    save_books,
    task_progress,
    user_errors,
)
from jinglian.runs import OVERWRITE_HELP, claim, profile_setting

FILTER_EXAMPLE = """
Example:

    jinglian sample docs.jsonl && jinglian filter docs.jsonl --out filtered
    jinglian filter crawl/documents --out filtered --profile my-profile.yaml

Reads documents (JSONL(.gz), Parquet, .txt; files or folders), normalizes them (--no-normalize to
skip), then runs the profile's steps: language ID, Chinese heuristics, web-spam rules, weighted
blocklists, the optional fastText quality model and PII redaction. Writes `OUT/documents/`,
`OUT/rejected/<step>/` (each dropped document with `reject_reason` = rule and `reject_value`),
`OUT/stats.json` and `OUT/logs/`. The statistics every rule measured stay in each document's
metadata. `--profile` is `zh-web` (built in) or a YAML file; `extends: zh-web` in your own file
overrides only what you set.
"""


def _pii_counts(logging_dir: Path) -> dict[str, int]:
    """Sum the ``pii/<kind>`` counters every task saved."""
    totals = _step_counters(logging_dir)
    return {key[4:]: n for key, n in totals.items() if key.startswith("pii/")}


def _step_counters(logging_dir: Path, step_name: str | None = None) -> dict[str, int]:
    """Sum the counters every task saved, over all steps or over the step named ``step_name``."""
    totals: dict[str, int] = {}
    for path in sorted((logging_dir / "stats").glob("*.json")):
        for step in json.loads(path.read_text()):
            if step_name is not None and step["name"].split(": ", 1)[-1] != step_name:
                continue
            for key, value in step["stats"].items():
                n = int(value["total"] if isinstance(value, dict) else value)
                totals[key] = totals.get(key, 0) + n
    return totals


def _line_cleaning(logging_dir: Path) -> str | None:
    """One line on what line cleaning removed, from the ``lines`` step's counters."""
    c = _step_counters(logging_dir, "lines")
    if not c.get("in"):
        return None
    share = c.get("chars_removed", 0) / max(c.get("chars_seen", 0), 1)
    return (
        f"line cleaning: {c.get('lines_removed', 0)} boilerplate lines removed from {c['in']} pages "
        f"({share:.1%} of their characters)"
    )


def _run(pipeline, out: Path, files: list[str], tasks: int, workers: int | None, executor: str, title: str,
         slurm_options: dict | None = None):
    from jinglian.corpus.executors import run_pipeline

    n_tasks = tasks or len(files)
    at_once = executor_workers(executor, workers, n_tasks)
    with task_progress(f"{title} ({executor}, {describe_workers(at_once)})") as update:
        result = run_pipeline(
            pipeline, out, tasks=n_tasks, workers=at_once, executor=executor, on_progress=update,
            **({"slurm_options": slurm_options} if executor == "slurm" else {}),
        )
    if executor == "slurm":
        console.print(f"submitted to Slurm: {n_tasks} tasks, {describe_workers(at_once)}; "
                      f"logs and stats will appear under {result.logging_dir}", soft_wrap=True)
        raise typer.Exit()
    save_books(result.books, out, f"jinglian {title}: {len(files)} file(s)")
    pii = _pii_counts(result.logging_dir)
    if pii:
        console.print("PII replaced: " + ", ".join(f"{k} {v}" for k, v in sorted(pii.items())))
    cleaning = _line_cleaning(result.logging_dir)
    if cleaning:
        console.print(cleaning)
    finish_run(result.books, out, result.wall_seconds)


def filter_command(
    inputs: Annotated[list[str], typer.Argument(help="Input files or folders.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    profile: Annotated[str, typer.Option(help="Built-in profile name (zh-web) or a YAML file.")] = "zh-web",
    normalize: Annotated[
        bool,
        typer.Option(
            "--normalize/--no-normalize",
            help="Run jinglian's normalizer first (NFKC without breaking Chinese punctuation, 繁→简).",
        ),
    ] = True,
    workers: WorkersOption = None,
    tasks: Annotated[
        int, typer.Option(help="Tasks to split the input files into (default: one per file).")
    ] = 0,
    executor: Annotated[str, typer.Option(help="local | ray | slurm")] = "local",
    slurm_option: SlurmOption = None,
    fmt: Annotated[str, typer.Option("--format", help="Output format: jsonl (gzip) | parquet.")] = "jsonl",
    on_error: Annotated[
        str, typer.Option(help="Bad records: 'fail' (stop with file:line) or 'skip' (to rejected/).")
    ] = "fail",
    text_key: Annotated[str, typer.Option(help="Field holding the text in JSONL/Parquet input.")] = "text",
    id_key: Annotated[str, typer.Option(help="Field holding the document id (default: file/line).")] = "id",
    txt_mode: Annotated[str, typer.Option(help="For .txt inputs: 'file' or 'paragraph'.")] = "file",
    overwrite: Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)] = False,
) -> None:
    """Filter Chinese documents by a profile: every rule named, every drop explained."""
    from jinglian.corpus.executors import parse_slurm_options
    from jinglian.corpus.filters import filter_steps, load_profile
    from jinglian.corpus.normalize import Normalizer
    from jinglian.corpus.readers import DocumentReader, expand_inputs
    from jinglian.corpus.writers import document_writer

    with user_errors():
        files = expand_inputs(inputs)
        steps_profile = load_profile(profile)
        claim(out, "filter", files, {"profile": profile_setting(steps_profile), "normalize": normalize, "tasks": tasks,
                                     "format": fmt, "on_error": on_error, "text_key": text_key, "id_key": id_key,
                                     "txt_mode": txt_mode}, overwrite, say=console.print)
        rejects = str(out / "rejected")
        pipeline = [
            DocumentReader(
                files,
                text_key=text_key,
                id_key=id_key,
                txt_mode=txt_mode,
                on_error=on_error,
                rejects_dir=rejects,
            ),
            *([Normalizer(rejects_dir=rejects)] if normalize else []),
            *filter_steps(steps_profile, rejects),
            document_writer(out / "documents", fmt),
        ]
        _run(pipeline, out, files, tasks, workers, executor, f"filter --profile {profile}", parse_slurm_options(slurm_option))


def register(app: typer.Typer) -> None:
    app.command(name="filter", help=(filter_command.__doc__ or "") + "\n\n" + FILTER_EXAMPLE)(filter_command)
