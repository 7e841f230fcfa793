"""Shared test helper: start a command, kill -9 its whole process group once some datatrove tasks
have finished, and say how many had (the resume tests then rerun it and compare)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def kill_after_completions(cmd: list[str], completions: Path, at_least: int = 2, timeout_s: float = 120) -> int:
    """Run ``cmd``; SIGKILL it when ``completions`` (a datatrove completion-marker folder) holds
    ``at_least`` markers, or when it ends by itself; return the number of markers then."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout_s
    while time.time() < deadline and proc.poll() is None:
        if completions.is_dir() and len(list(completions.iterdir())) >= at_least:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return len(list(completions.iterdir())) if completions.is_dir() else 0
