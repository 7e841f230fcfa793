"""Ready-made pipelines to copy and edit; each runs with ``python -m jinglian.pipelines.NAME --out DIR``.

Every stage is one ``jinglian`` command, run exactly as a user would type it, so a pipeline reads
as the list of commands it stands for and each stage prints its own summary.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def jinglian(*args: object) -> float:
    """Run one ``jinglian`` command; stop the pipeline if it fails. Returns its wall time in seconds."""
    argv = [str(a) for a in args]
    print(f"\n$ jinglian {shlex.join(argv)}", flush=True)
    started = time.perf_counter()
    if subprocess.run([sys.executable, "-m", "jinglian.cli", *argv]).returncode != 0:
        raise SystemExit(f"pipeline stopped: `jinglian {shlex.join(argv)}` failed")
    return time.perf_counter() - started


def config(name: str) -> Path:
    """An example training config shipped in this folder (``train_sft.yaml`` ...)."""
    return HERE / name
