"""Every benchmark a newcomer may run by hand explains itself with --help, and runs nothing then."""

from __future__ import annotations

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
