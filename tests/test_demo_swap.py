"""`okxbot demo --swap` end to end: an entry with its stop on the exchange, funding, the stop hit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_swap_shows_the_stop_living_on_the_exchange(tmp_path: Path) -> None:
    env = os.environ | {"HOME": str(tmp_path), "COLUMNS": "200", "OKXBOT_KEYRING": "off"}
    for name in ("OKXBOT_PROFILE", "OKX_API_KEY", "OKX_SECRET_KEY", "OKX_PASSPHRASE", "OKXBOT_HOME"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "okxbot", "demo", "--swap"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "Futures mode (acctLv 2)" in out
    assert "the stop lives on OKX as algo" in out
    assert "Funding settled at rate 0.0005: the bot" in out
    assert "fired on the exchange; the bot journaled its order and fill" in out
    assert "stop-losses fired on the exchange" in out and "journal = exchange" in out
    summary = out[out.index("demo-perp stopped") :]
    assert "│ yes" in summary.replace("  ", " ") or "yes │" in summary
    assert "Traceback" not in out + done.stderr
