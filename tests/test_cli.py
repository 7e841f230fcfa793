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


def _leaf_commands(command, path=()):
    """(path, click command) of every command that runs something (groups walked)."""
    if hasattr(command, "commands"):  # a group (typer vendors its own click)
        for name, sub in command.commands.items():
            yield from _leaf_commands(sub, (*path, name))
    else:
        yield path, command


def test_help_keeps_every_example_and_bracketed_word():
    """Rich markup used to eat ``[crawl →] [extract →]``: each --help shows its example lines and
    every bracketed piece of its help text (compared without whitespace: the terminal wraps)."""
    import typer
    from typer.testing import CliRunner

    from jinglian.cli import _register_all, app

    _register_all()
    leaves = list(_leaf_commands(typer.main.get_command(app)))
    assert len(leaves) > 15
    squash = lambda s: re.sub(r"[\s│╭╮╰╯─]+", "", s)  # noqa: E731
    for path, command in leaves:
        source = re.sub(r"\\\[", "[", command.help or "")
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        shown = squash(result.output)
        assert result.exit_code == 0 and "Example" in result.output, path
        examples = [ln for ln in source.splitlines() if ln.strip().startswith("jinglian ")]
        assert examples, f"{' '.join(path)}: no example line in its help"
        for piece in examples + re.findall(r"\[[^\]\n]+\]", source):
            assert squash(piece) in shown, f"jinglian {' '.join(path)} --help lost {piece!r}"


def test_help_paragraphs_are_joined_examples_kept():
    from jinglian.cli import help_paragraphs

    text = "Summary.\n\nSteps: [crawl →] normalize\n→ write, and\n繁体\n转简体.\n\n    jinglian x --y\n    jinglian z\n- item\n- other"
    assert help_paragraphs(text) == (
        "Summary.\n\nSteps: \\[crawl →] normalize → write, and 繁体转简体.\n\n    jinglian x --y\n    jinglian z\n- item\n- other"
    )


def test_wheel_is_the_jinglian_package(tmp_path):
    """A regular install: the wheel maps the repository root to `jinglian`, with every subpackage."""
    # Build from a copy: setuptools leaves build/ behind, and a stale build/ could leak old files.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*-out", "__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True, text=True,
    )
    assert "would be ignored" not in build.stdout + build.stderr  # data folders are declared packages
    (wheel,) = tmp_path.glob("jinglian-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("jinglian/__init__.py", "jinglian/cli.py", "jinglian/corpus/normalize.py", "jinglian/corpus/stats.py",
                   "jinglian/train/deepspeed/zero3.json", "jinglian/corpus/filters/profiles/zh-web.yaml"):
        assert module in names
    assert not any(n.startswith(("corpus/", "tests/", "jinglian/tests/")) for n in names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    probe = "import jinglian.corpus.normalize as m, sys; print(m.__file__)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, check=True).stdout
    assert out.startswith(str(target))
