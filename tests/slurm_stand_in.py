"""Shared test helper: stand-ins for Slurm's ``sbatch`` and ``scontrol`` (no Slurm here), real
executables on PATH that keep each submitted script and its arguments and print a job id."""

from __future__ import annotations

import os
from pathlib import Path

SBATCH = """#!/bin/sh
for last; do :; done
n=$(ls {log} | grep -c 'sh$'); n=$((n+1))
cp "$last" {log}/$n.sh
echo "$@" > {log}/$n.args
echo "Submitted batch job $((1000+n))"
"""


def slurm_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose PATH finds the stand-ins first, and the folder the scripts land in
    (``1.sh``, ``1.args``, ``2.sh``, ... in submission order)."""
    log, bin_dir = tmp_path / "sbatch", tmp_path / "bin"
    log.mkdir(exist_ok=True)
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "sbatch").write_text(SBATCH.format(log=log))
    (bin_dir / "scontrol").write_text("#!/bin/sh\necho localhost\n")  # `scontrol show hostnames`
    for tool in ("sbatch", "scontrol"):
        (bin_dir / tool).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "COLUMNS": "200"}, log
