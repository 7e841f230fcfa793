"""``jinglian quickstart``: the whole path end to end on bundled sample data (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def quickstart(out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("demo-out")) -> None:
    """Sample site → crawl → extract → normalize → filter → dedup → HF dataset → tokenizer → SFT/multi-turn/
    preference data → pretrain → SFT → reward model → PPO → report.html, all on CPU in a few minutes.

    Example:

        jinglian quickstart --out demo-out && xdg-open demo-out/report.html

    The stages are plain `jinglian` commands, listed in jinglian/pipelines/quickstart.py.
    """
    from jinglian.pipelines.quickstart import main

    main(out)


def register(app: typer.Typer) -> None:
    app.command()(quickstart)
