"""Run one benchmark case in a child process of its own, so that its peak memory is its own."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_child(script: str, case: str, path: Path) -> dict[str, Any]:
    """Run ``script --child CASE PATH`` and return what it printed last (NaNs and the error on failure)."""
    done = subprocess.run(
        [sys.executable, script, "--child", case, str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def report(result: dict[str, Any]) -> None:
    """In the child: print ``result`` with the process's peak memory (max RSS, MB), for run_child."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak_mb, **result}))
