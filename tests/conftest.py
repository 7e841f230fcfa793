"""Shared test set-up: CPU only, no hub access, and helpers every test module may use."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (third-party dev data); tests that use it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared dev data not found at {SHARED_DATA}")
    return SHARED_DATA


def run_cli(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real ``jinglian`` command in a subprocess, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "jinglian.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, "COLUMNS": "200"},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"jinglian {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def read_jsonl_gz(folder: Path) -> list[dict]:
    """All records of every ``*.jsonl.gz`` under ``folder``, in file order."""
    rows = []
    for path in sorted(Path(folder).rglob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return rows


@pytest.fixture
def sample_jsonl(tmp_path: Path) -> Path:
    from jinglian.corpus.sample import write_sample_jsonl

    return write_sample_jsonl(tmp_path / "sample.jsonl", n=120, seed=1)


@pytest.fixture
def cli():
    """``cli("curate", "in.jsonl", "--out", dir)``: the real command in a subprocess."""
    return run_cli


@pytest.fixture
def read_docs():
    """``read_docs(folder)``: the records of every ``*.jsonl.gz`` under a folder."""
    return read_jsonl_gz


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed here when absent (the project's test set-up); skip if impossible."""
    if not Path(CHROMIUM).exists() and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True)
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed and could not be installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is needed to drive Chromium")
    return CHROMIUM


def _open_in_browser(page_path: Path, chromium: str, screenshot: Path) -> tuple[list[str], list[str]]:
    """Load a page; return console errors and the ids of its sections; save a screenshot."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(page_path.as_uri())
        sections = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
        broken = page.eval_on_selector_all("img", "els => els.filter(e => !e.complete || e.naturalWidth === 0).length")
        if broken:
            errors.append(f"{broken} images did not load")
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return errors, sections


@pytest.fixture
def open_in_browser(chromium):
    """``open_in_browser(page, screenshot)`` -> (console errors, section ids), in headless Chromium."""
    return lambda page, screenshot: _open_in_browser(page, chromium, screenshot)


@pytest.fixture
def one_torch_thread():
    """Tiny models on a shared 2-core box: one thread is several times faster than two fighting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
