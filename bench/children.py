"""Run one benchmark case in a child process of its own, so that its peak memory is its own."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
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


def peak_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's VmHWM, where there is one: ``ru_maxrss`` of a child counts the peak of the parent it
    was forked from (the kernel carries it over exec), which made a big parent look like a big child.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(result: dict[str, Any]) -> None:
    """In the child: print ``result`` with the process's peak memory (MB), for run_child."""
    print(json.dumps({"peak_mb": peak_mb(), **result}))


def comparison_line(
    rows: int, label: str, ours: dict[str, Any], base: dict[str, Any], *, skipped: bool, ignore: Iterable[str] = ()
) -> str:
    """One row of a side-by-side table: time and peak memory of each, the ratios (baseline /
    sheetcrm), and what the two disagree on (keys other than the timings and ``ignore``)."""
    left_out = {"seconds", "peak_mb", *ignore}
    mismatch = [k for k, v in ours.items() if k not in left_out and k in base and base[k] != v]
    line = (
        f"{rows:>9}  {label:<16} {ours['seconds']:>7.2f} s {ours['peak_mb']:>5.0f} MB"
        f" {base['seconds']:>9.2f} s {base['peak_mb']:>5.0f} MB"
        f" {base['seconds'] / ours['seconds']:>10.1f}x {base['peak_mb'] / ours['peak_mb']:>12.1f}x"
    )
    if skipped:
        line += "  (baseline skipped)"
    if mismatch:
        line += f"  results differ: {', '.join(f'{k} {ours[k]} vs {base[k]}' for k in mismatch)}"
    if "error" in ours or "error" in base:
        line += f"  error: {ours.get('error') or base.get('error')}"
    return line


def bench_arguments(
    description: str | None,
    *,
    rows: Sequence[int],
    cache: Path,
    baseline_max_rows: int = 200_000,
    tasks: Sequence[str] | None = None,
    rows_help: str | None = None,
) -> argparse.ArgumentParser:
    """The options every bench script takes: ``--rows``, ``--tasks`` (when it has tasks),
    ``--cache``, ``--baseline-max-rows``, and the hidden ``--child`` that run_child uses."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=list(rows), help=rows_help)
    if tasks is not None:
        parser.add_argument("--tasks", nargs="+", choices=list(tasks), default=list(tasks))
    parser.add_argument("--cache", type=Path, default=cache)
    parser.add_argument("--baseline-max-rows", type=int, default=baseline_max_rows)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    return parser


def parse_or_run_child(
    parser: argparse.ArgumentParser, child: Callable[[str, Path], None]
) -> argparse.Namespace | None:
    """The parsed options; or, when this process is a child (``--child CASE PATH``), run the case
    and return None."""
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return None
    return args
