"""docs/python-api.md: its example runs as written (so the documented API cannot rot)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def test_the_documented_pipeline_runs(tmp_path, read_docs):
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(code) == 1
    (tmp_path / "example.py").write_text(code[0], encoding="utf-8")
    proc = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    filtered = re.search(r"filter: in (\d+) = kept (\d+) \+ dropped (\d+)", proc.stdout)
    assert filtered and int(filtered[1]) == 200 and int(filtered[2]) + int(filtered[3]) == 200
    kept_after_filter = int(filtered[2])
    dedup = re.search(r"dedup: in (\d+) = kept (\d+) \+ dropped (\{.*\})", proc.stdout)
    assert dedup and int(dedup[1]) == kept_after_filter
    docs = read_docs(tmp_path / "api-demo" / "deduplicated")
    assert len(docs) == int(dedup[2]) < kept_after_filter  # the sample corpus has duplicates: some went
    assert len({d["text"] for d in docs}) == len(docs)
