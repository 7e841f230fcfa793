"""The ``jinglian`` command.

Each command module registers itself on ``app`` (see ``COMMAND_MODULES``); this file holds the
pieces they share: one-line errors instead of tracebacks, the progress bar, and the funnel summary.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jinglian import __version__

app = typer.Typer(
    name="jinglian",
    help="精炼 jinglian: turn the Chinese web into LLM training data, and train on it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)


class UserError(Exception):
    """A mistake in what the user asked for: printed as one line, exit code 2."""


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn known user mistakes (bad input, unavailable executor) into one line on stderr."""
    from jinglian.corpus.executors import ExecutorUnavailable
    from jinglian.corpus.readers import InputError

    try:
        yield
    except (InputError, ExecutorUnavailable, UserError, FileNotFoundError, ValueError) as err:
        fail(str(err))


@contextmanager
def task_progress(description: str) -> Iterator:
    """A rich progress bar; yields ``update(done, total)``."""
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as progress:
        task = progress.add_task(description, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


@contextmanager
def stage_progress(command: str) -> Iterator:
    """Yields ``on_stage(name)`` for multi-stage runs: one progress bar per stage, each closed before
    the next opens, the last one on exit."""
    bars: list = []

    def close() -> None:
        if bars:
            bars.pop().__exit__(None, None, None)

    def on_stage(name: str):
        close()
        bars.append(task_progress(f"{command}: {name}"))
        return bars[-1].__enter__()

    try:
        yield on_stage
    finally:
        close()


def print_books(books, title: str = "funnel") -> None:
    """The one-screen summary of a run: in / kept / dropped by reason, per step and overall."""
    table = Table(title=title, show_lines=False)
    table.add_column("step", overflow="fold")  # fold, not "…": a reason name cut short names nothing
    table.add_column("in", justify="right")
    table.add_column("kept", justify="right")
    table.add_column("dropped (reason: n)", overflow="fold")
    for step in books.steps:
        drops = ", ".join(f"{r}: {n}" for r, n in sorted(step.dropped.items())) or "-"
        table.add_row(step.step, str(step.docs_in), str(step.kept), drops)
    console.print(table)
    mark = "[green]books balance[/]" if books.balanced else "[bold red]BOOKS DO NOT BALANCE[/]"
    dropped = sum(books.dropped.values())
    console.print(f"{mark}: in {books.docs_in} = kept {books.kept} + dropped {dropped}")


def save_books(books, out: Path, title: str) -> None:
    """Write ``OUT/stats.json`` and print the funnel: the first half of every corpus command's summary."""
    books.save(out / "stats.json")
    print_books(books, title=title)


def finish_run(books, out: Path, wall_seconds: float) -> None:
    """Where the outputs are, the wall time, and exit 1 if the books do not balance."""
    for label, path in (("documents", out / "documents"), ("rejected", out / "rejected"), ("stats", out / "stats.json")):
        console.print(f"{label:>9}: {path}", soft_wrap=True, highlight=False)
    console.print(f"wall time: {wall_seconds:.1f} s")
    if not books.balanced:
        fail("the books do not balance; see stats.json", code=1)


def version_callback(value: bool) -> None:
    if value:
        console.print(f"jinglian {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """精炼 jinglian: turn the Chinese web into LLM training data, and train on it."""


# Modules that define commands; each has ``register(app)``.
COMMAND_MODULES = [
    "jinglian.commands.curate",
    "jinglian.commands.build",
    "jinglian.commands.train",
    "jinglian.commands.crawl",
    "jinglian.commands.report",
    "jinglian.commands.export",
    "jinglian.commands.quickstart",
    "jinglian.commands.dedup",
    "jinglian.commands.filter",
    "jinglian.commands.quality",
    "jinglian.commands.decontaminate",
]


def _register_all() -> None:
    if app.registered_commands:  # already registered in this process
        return
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    tidy_help(app)


_ITEM = re.compile(r"([-*•]|\d+[.)]) ")  # a list item starts its own line
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def help_paragraphs(text: str) -> str:
    """A docstring as help: markup escaped, prose lines joined into paragraphs, examples kept.

    Rich reads ``[crawl →]`` as a markup tag and drops it, and re-wraps each hard-wrapped line on
    its own, so a docstring wrapped at 100 columns broke mid-sentence in a narrower terminal. Lines
    indented by 4 spaces (examples) and list items keep their own lines; a line joins the one
    before it with a space, or without one between two Chinese characters.
    """
    lines: list[str] = []
    for line in inspect.cleandoc(text).splitlines():
        starts_item = not line.strip() or line[0].isspace() or bool(_ITEM.match(line))
        if lines and lines[-1].strip() and not lines[-1].startswith("    ") and not starts_item:
            glue = "" if _CJK.match(line.lstrip()[:1]) and _CJK.match(lines[-1][-1:]) else " "
            lines[-1] += glue + line.strip()
        else:
            lines.append(line)
    return rich_escape("\n".join(lines))


def tidy_help(typer_app: typer.Typer) -> None:
    """:func:`help_paragraphs` for every command and group registered on ``typer_app``."""
    for info in typer_app.registered_commands:
        info.help = help_paragraphs(info.help or inspect.getdoc(info.callback) or "")
    for group in typer_app.registered_groups:
        sub_app = group.typer_instance
        if group.help or sub_app.info.help:
            group.help = help_paragraphs(group.help or sub_app.info.help)
        tidy_help(sub_app)


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _register_all()
    app(prog_name="jinglian")


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


# The options every executor-backed command shares: tasks and concurrency are separate settings.
WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, help="Tasks run at once (default: the cores of this machine; on Slurm: no limit, "
                             "else the job array's %N)."),
]
SlurmOption = Annotated[
    list[str] | None,
    typer.Option("--slurm-option", metavar="KEY=VALUE", show_default=False,
                 help="With --executor slurm: an sbatch option, repeatable: partition=cpu, time=4:00:00, qos=high, "
                      "account=proj, cpus-per-task=4, mem-per-cpu=4G. Not given: the cluster's defaults."),
]


def executor_workers(executor: str, workers: int | None, tasks: int | None = None) -> int:
    """Tasks at once: ``--workers``, else the cores here; on Slurm ``-1`` (no %N limit) when not given.
    At most ``tasks`` when given (multi-stage runs clamp per stage instead)."""
    if executor == "slurm" and workers is None:
        return -1
    at_once = workers or default_workers()
    return max(1, min(at_once, tasks)) if tasks else at_once


def describe_workers(workers: int) -> str:
    return "no limit on tasks at once" if workers < 0 else f"{workers} workers"


def require_out_dir(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    return out


if __name__ == "__main__":  # python -m jinglian.cli
    sys.exit(main())
