"""``jinglian report``: a self-contained HTML report for any run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jinglian.cli import console, user_errors


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (curate, filter, dedup, build, train, quickstart).")],
    profile: Annotated[str, typer.Option(help="Filter profile whose thresholds are drawn on the histograms: zh-web, a YAML file, or 'none'.")] = "zh-web",
) -> None:
    """Write RUN_DIR/report.html: funnel, drops by reason with examples, histograms with thresholds, dedup clusters, datasets, training curves.

    Sections appear only for what the run holds.

    Example:

        jinglian report demo-out
    """
    from jinglian.report import write_report

    with user_errors():
        path = write_report(run_dir, None if profile == "none" else profile)
    console.print(f"report: {path}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(report)
