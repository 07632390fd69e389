"""The commands: `okxbot demo` runs to its summary; `okxbot run` refuses bad configs plainly."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

OKXBOT = [sys.executable, "-m", "okxbot"]


def test_demo_runs_to_the_summary_with_a_reconciled_journal(tmp_path: Path) -> None:
    env = os.environ | {"OKXBOT_HOME": str(tmp_path / "untouched"), "COLUMNS": "80"}  # a usual terminal
    proc = subprocess.run(
        [*OKXBOT, "demo", "--seconds", "4", "--no-live"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "No failures." in out  # doctor passed
    assert "Example limit buy BTC/USDT 0.001" in out and "state now canceled" in out
    assert "orders placed" in out and "rate-limited answers (50011)" in out
    assert re.search(r"journal reconciled with the exchange\s*│\s*yes", out), out
    assert "open orders left" in out
    # whole, in the words a backtest prints it, to compare the two (a table cell would cut it at 80)
    assert re.search(r"^parity hash [0-9a-f]{64}$", out, re.M), out
    assert not (tmp_path / "untouched").exists()  # the demo's vault and journal were throwaway


def test_run_refuses_a_bad_config_with_file_line_and_fix(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        'name = "b"\nsymbol = "BTC/USDT"\nstrategy = "grid"\n\n[grid]\nlower = "44000"\nupper = "42000"\n'
        'levels = 5\nsize = "0.001"\n'
    )
    proc = subprocess.run(
        [*OKXBOT, "--data-dir", str(tmp_path), "run", str(config), "--sim", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert f"{config}:5: grid: lower (44000) must be below upper (42000)" in proc.stderr
    assert "Fix:" in proc.stderr and "Traceback" not in proc.stderr
