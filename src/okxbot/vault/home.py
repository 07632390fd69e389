"""Where okxbot keeps its files: OKXBOT_HOME (default ~/.okxbot).

Tests and headless servers point OKXBOT_HOME (or `okxbot --data-dir`) elsewhere, so that a test run
never touches the user's real vault.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "OKXBOT_HOME"


def okxbot_home() -> Path:
    """The data directory, created with mode 0700 (it holds the vault and the profile list)."""
    raw = os.environ.get(HOME_ENV, "").strip()
    home = Path(raw).expanduser() if raw else Path.home() / ".okxbot"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home
