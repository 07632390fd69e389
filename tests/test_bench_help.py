"""Every benchmark a newcomer may run by hand explains itself with --help, and runs nothing then."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["bench.bench_backtest", "bench.bench_latency", "bench.bench_orders", "bench.bench_serve"]
)
def test_benchmarks_answer_help_without_running(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:") and "--help" in done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    for n, line in enumerate(lines):
        option = re.match(r"^  (?:-\w, )?(--[\w-]+)(?: [A-Z_]+)?(\s{2,}\S.*)?$", line)
        if option and option[1] != "--help":
            described = option[2] or (n + 1 < len(lines) and re.match(r"^\s{8,}\S", lines[n + 1]))
            assert described, f"{module}: {option[1]} is not explained in --help"
