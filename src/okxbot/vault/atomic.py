"""Crash-safe file replacement and an inter-process lock, shared by the vault file and the profile list."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from okxbot.vault.errors import VaultError

LOCK_TIMEOUT_S = 10.0
# O_EXCL: never open a file someone placed at the temporary name beforehand; O_NOFOLLOW: never
# write through a symlink (with O_EXCL a symlink already fails, O_NOFOLLOW says so on every system).
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def temp_path(path: Path) -> Path:
    """A fresh, unpredictable name beside `path` (same directory, so the rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")


def create_private(path: Path) -> int:
    """Create `path` for writing, mode 0600, refusing an existing file or symlink; returns the fd."""
    try:
        fd = os.open(path, _CREATE_NEW, 0o600)
    except FileExistsError:
        raise VaultError(
            f"{path} already exists where okxbot was creating a new private file",
            f"delete {path}; if you did not create it, check who else can write to {path.parent}",
        ) from None
    # the umask can only remove bits, but a directory's default ACL can add some: set it exactly
    os.fchmod(fd, 0o600)
    return fd


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash at any moment leaves the old or the new file, whole.

    The temporary file is created new (O_EXCL | O_NOFOLLOW) with mode 0600 from the start (never
    readable by others for an instant), flushed to disk, renamed over the target, and the directory
    entry is synced too.
    """
    tmp = temp_path(path)
    fd = create_private(tmp)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def exclusive(lock_path: Path, what: str, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` for a read-modify-write; another process waits its turn."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise VaultError(
                        f"another okxbot process has been changing the {what} for {timeout_s:.0f} s",
                        f"wait for it to finish and retry; if none is running, delete {lock_path}",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock
