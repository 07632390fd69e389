"""Where okxbot keeps its files: OKXBOT_HOME (default ~/.okxbot), private to its owner.

Tests and headless servers point OKXBOT_HOME (or `okxbot --data-dir`) elsewhere, so that a test run
never touches the user's real vault.

The directory holds the vault, the profile list, journals and panic reports, so it must not be
readable by other users. A new one is created 0700. An existing one that others can read or enter
(e.g. created by hand with the default umask) is tightened to 0700 at once, with one line on stderr
saying so: changing the mode of a directory we own loses nothing and is what the owner would do
anyway, whereas refusing would stop every command until they did it by hand. When the mode cannot
be changed (the directory belongs to someone else, or a read-only file system), okxbot refuses to
use it and prints the chmod to run.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from okxbot.vault.errors import VaultError

HOME_ENV = "OKXBOT_HOME"


def okxbot_home() -> Path:
    """The data directory, created with mode 0700 or tightened to it (see the module docstring)."""
    raw = os.environ.get(HOME_ENV, "").strip()
    home = Path(raw).expanduser() if raw else Path.home() / ".okxbot"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    ensure_private(home)
    return home


def ensure_private(directory: Path) -> None:
    """Make `directory` accessible to its owner only, or raise a VaultError with the chmod to run."""
    mode = stat.S_IMODE(directory.stat().st_mode)
    if not mode & 0o077:
        return
    try:
        os.chmod(directory, 0o700)
    except OSError as err:
        raise VaultError(
            f"the okxbot data directory {directory} is accessible by other users (mode {mode:03o}) and "
            f"okxbot cannot change that ({err.strerror})",
            f"run `chmod 700 {directory}` as its owner (and check who could have read it), or choose "
            "another directory with --data-dir / OKXBOT_HOME",
        ) from None
    print(
        f"okxbot: {directory} was accessible by other users (mode {mode:03o}); "
        "changed it to 700 because it holds your keys' vault",
        file=sys.stderr,
    )
