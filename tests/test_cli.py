"""The `jinglian` command itself, and the package as a regular (non-editable) install sees it."""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from jinglian import __version__

ROOT = Path(__file__).resolve().parents[1]


def _commands(help_text: str) -> list[str]:
    section = help_text.split("Commands")[1]
    return re.findall(r"^│ (\w[\w-]*)\s", section, flags=re.MULTILINE)


def test_version(cli):
    assert cli("--version").stdout.strip() == f"jinglian {__version__}"


def test_every_command_has_help_with_an_example(cli):
    commands = _commands(cli("--help").stdout)
    assert "curate" in commands
    for name in commands:
        text = cli(name, "--help").stdout
        sub = _commands(text) if "Commands" in text else []
        for sub_name in sub:  # command groups: every subcommand documents an example
            assert "Example" in cli(name, sub_name, "--help").stdout, f"{name} {sub_name}"
        if not sub:
            assert "Example" in text, name


def test_wheel_is_the_jinglian_package(tmp_path):
    """A regular install: the wheel maps the repository root to `jinglian`, with every subpackage."""
    # Build from a copy: setuptools leaves build/ behind, and a stale build/ could leak old files.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*-out", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("jinglian-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("jinglian/__init__.py", "jinglian/cli.py", "jinglian/corpus/normalize.py", "jinglian/corpus/stats.py"):
        assert module in names
    assert not any(n.startswith(("corpus/", "tests/", "jinglian/tests/")) for n in names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    probe = "import jinglian.corpus.normalize as m, sys; print(m.__file__)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, check=True).stdout
    assert out.startswith(str(target))
