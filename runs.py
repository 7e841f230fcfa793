"""The run contract: a folder a command writes records what made it, so a re-run is either the same
run (it resumes) or refused with the difference named.

``OUT/run.json`` holds the command, jinglian's version, every input file (path, size, mtime and
sha256), and the settings that shape the output (the resolved filter profile with the files it
names, the tokenizer's hash, the run config, the command's options; not ``--workers``, which
changes speed, not output). :func:`claim` is the one call every folder-writing command makes before
it writes anything:

- empty or missing ``OUT``: a fresh run; ``run.json`` is written first;
- ``run.json`` there and everything the same: the run resumes (datatrove's completion markers,
  ``crawl --resume``, ``resume_from_checkpoint`` do the rest);
- anything different: stop with one line naming what changed and the two ways on, ``--overwrite``
  or a new ``--out``;
- ``--overwrite``: empties a folder that holds a ``run.json``, then starts afresh. jinglian writes
  ``run.json`` only into a folder it found empty, so everything in it is output of jinglian runs;
  a non-empty folder without one is never deleted (the user removes it or picks a new ``--out``),
  and a folder holding one of the run's own inputs is never emptied.

Hashing: sha256, streamed in 1 MiB pieces (about 1.3 GB/s on one core here). Files of
``QUICK_CHECK_BYTES`` or more (WARCs, model weights) are hashed in full on the first run; a re-run
trusts the recorded hash when size and mtime (nanoseconds) are unchanged, as rsync and make do, so a
100 GB corpus is not read twice just to say it is unchanged. Smaller files are always hashed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jinglian import __version__

RUN_FILE = "run.json"
QUICK_CHECK_BYTES = 256 * 2**20
OVERWRITE_HELP = "Empty OUT first and start afresh (only a folder jinglian wrote, i.e. one holding run.json)."
_ADVICE = "to go on: --overwrite (replaces that output) or a new {flag}"


class RunMismatch(ValueError):
    """OUT was made by a different run (or by something else): one line, exit 2 via ``user_errors``."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(2**20):
            digest.update(block)
    return digest.hexdigest()


def file_record(path: Path, previous: dict | None = None) -> dict[str, Any]:
    """``{path, size, mtime, sha256}``; a large file unchanged in size and mtime keeps ``previous``'s hash."""
    st = path.stat()
    rec = {"path": str(path.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns}
    quick = previous and previous.get("size") == st.st_size and previous.get("mtime") == st.st_mtime_ns
    rec["sha256"] = previous["sha256"] if quick and st.st_size >= QUICK_CHECK_BYTES else sha256_file(path)
    return rec


def _is_content(f: Path) -> bool:
    """Not content: a folder's own run.json (a resumed run rewrites it) and the ``cache-*.arrow``
    files `datasets` writes beside a saved dataset when a trainer maps or filters it (training
    on a dataset folder adds them, and that must not make the next run look different)."""
    return f.is_file() and f.name != RUN_FILE and not (f.name.startswith("cache-") and f.suffix == ".arrow")


def _files(item: str | Path) -> list[Path]:
    """A file, or a folder's content files."""
    p = Path(item)
    return sorted(f for f in p.rglob("*") if _is_content(f)) if p.is_dir() else [p]


def input_records(inputs: Iterable[str | Path], previous: list[dict] | None = None) -> list[dict[str, Any]]:
    """Every input file (folders expanded) as a :func:`file_record`; URLs and other non-files as ``{"url"}``."""
    before = {r.get("path"): r for r in previous or []}
    out = []
    for item in inputs:
        if item is None:
            continue
        if str(item).startswith(("http://", "https://")) or not Path(item).exists():
            out.append({"url": str(item)})
            continue
        for f in _files(item):
            out.append(file_record(f, before.get(str(f.resolve()))))
    return out


def folder_hash(folder: str | Path) -> str:
    """One sha256 over a folder's files (relative name + content): a tokenizer's identity."""
    root = Path(folder)
    digest = hashlib.sha256()
    for f in _files(root):
        digest.update(f"{f.relative_to(root) if root.is_dir() else f.name}\0{sha256_file(f)}\n".encode())
    return digest.hexdigest()


def tokenizer_setting(path: str | Path | None) -> dict[str, str] | None:
    """``{"path", "sha256"}`` of a local tokenizer folder (or file): two tokenizers of one vocab size differ."""
    if path is None or not Path(path).exists():
        return None if path is None else {"path": str(path)}
    return {"path": str(Path(path).resolve()), "sha256": folder_hash(path)}


def profile_setting(profile) -> dict[str, Any]:
    """A loaded filter profile (``corpus.filters.profile.Profile``) as recorded: its resolved sections
    plus the hash of every file a section names (blocklists, stopwords, quality model)."""
    files: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node and len(node) < 4096:
            path = Path(profile.resolve(node))
            if path.is_file():
                files[node] = sha256_file(path)

    walk(profile.sections)
    return {"sections": profile.sections, "files": files}  # not the name: a copy of zh-web is the same profile


def _plain(value: Any) -> Any:
    """JSON-able copy (paths as strings, tuples as lists), so a record compares equal to itself read back."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out |= _flat(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    return {prefix: node}


def _short(value: Any, width: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _name(rec: dict) -> str:
    key = rec.get("path") or rec.get("url", "?")
    try:
        return str(Path(key).relative_to(Path.cwd()))
    except ValueError:
        return key


def differences(old: dict, new: dict) -> list[str]:
    """What changed between two records, each as a short phrase, inputs first."""
    changes = []
    if old.get("command") != new.get("command"):
        changes.append(f"command {old.get('command')!r} → {new.get('command')!r}")
    before = {r.get("path") or r.get("url"): r for r in old.get("inputs", [])}
    after = {r.get("path") or r.get("url"): r for r in new.get("inputs", [])}
    for key, rec in after.items():
        was = before.get(key)
        if was is None:
            changes.append(f"input {_name(rec)} is new")
        elif was.get("sha256") != rec.get("sha256"):
            changes.append(f"input {_name(rec)} changed ({was.get('size'):,} → {rec.get('size'):,} bytes, "
                           f"sha256 {str(was.get('sha256'))[:10]}… → {str(rec.get('sha256'))[:10]}…)")
    changes += [f"input {_name(rec)} is no longer given" for key, rec in before.items() if key not in after]
    if [k for k in before if k in after] != [k for k in after if k in before]:
        changes.append("the inputs are in another order")
    a, b = _flat(old.get("settings", {})), _flat(new.get("settings", {}))
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<unset>") != b.get(key, "<unset>"):
            changes.append(f"{key} changed ({_short(a.get(key, '<unset>'))} → {_short(b.get(key, '<unset>'))})")
    if old.get("jinglian") != new.get("jinglian"):
        changes.append(f"jinglian version {old.get('jinglian')} → {new.get('jinglian')}")
    return changes


def _write(path: Path, record: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _inside(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def claim(
    out: str | Path,
    command: str,
    inputs: Iterable[str | Path] = (),
    settings: dict[str, Any] | None = None,
    overwrite: bool = False,
    *,
    flag: str = "--out",
    say: Callable[[str], Any] = print,
) -> bool:
    """Make ``out`` this run's folder before anything is written; True when it resumes a recorded run.

    Raises :class:`RunMismatch` when ``out`` holds another run (naming what changed) or anything
    not written by jinglian. ``flag`` names the output option in the message (``output_dir=`` for
    training).
    """
    out = Path(out)
    record_path = out / RUN_FILE
    old = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else None
    if old is None and out.is_dir() and any(out.iterdir()):
        raise RunMismatch(f"{out} is not empty and holds no {RUN_FILE}, so jinglian cannot tell what made it: "
                          f"remove it yourself or give a new {flag}")
    if out.exists() and not out.is_dir():
        raise RunMismatch(f"{out} is a file, not a folder: give a new {flag}")
    new = {"command": command, "jinglian": __version__,
           "inputs": input_records(inputs, old.get("inputs") if old else None),
           "settings": _plain(settings or {})}
    if old is not None:
        changes = differences(old, new)
        if not changes and not overwrite:
            _write(record_path, new)  # fresh mtimes, same run
            say(f"resuming the run recorded in {record_path} (same inputs and settings)")
            return True
        if not overwrite:
            more = f" (and {len(changes) - 3} more)" if len(changes) > 3 else ""
            raise RunMismatch(f"{out} was made by a different run: {'; '.join(changes[:3])}{more}; "
                              + _ADVICE.format(flag=flag))
        mine = [r["path"] for r in new["inputs"] if "path" in r and _inside(r["path"], out)]
        if mine:
            raise RunMismatch(f"--overwrite would delete the input {mine[0]}, which lies inside {out}: give a new {flag}")
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        say(f"--overwrite: emptied {out} ({'; '.join(changes[:3]) or 'same run, started afresh'})")
    out.mkdir(parents=True, exist_ok=True)
    _write(record_path, new)
    return False
