"""Throwaway Redis and PostgreSQL servers for the tests that need the real thing.

Outside CI a missing server binary skips the test; with CI=true it fails, because CI must
prove the feature against a real server rather than quietly skip it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unavailable(what: str) -> None:
    """Fail under CI, skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: tests that need a real server must not skip)")
    pytest.skip(what)


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@dataclass(frozen=True)
class RedisServer:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    exe = shutil.which("redis-server")
    if exe is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="okxbot-redis-")
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not _wait_port(port, proc):
            unavailable(f"redis-server did not start on port {port}")
        yield RedisServer(port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class PostgresServer:
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://okxbot@127.0.0.1:{self.port}/okxbot"


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        unavailable("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="okxbot-pg-")
    datadir = os.path.join(workdir, "data")
    # PostgreSQL refuses to run as root; run it as the 'postgres' system user when we are root.
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    run = lambda *a: subprocess.run([*prefix, *a], capture_output=True, check=False)  # noqa: E731
    res = run(initdb, "-D", datadir, "-U", "okxbot", "--auth=trust", "-E", "UTF8")
    if res.returncode != 0:
        unavailable(f"initdb failed: {res.stderr.decode(errors='replace')[-400:]}")
    opts = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    res = run(pg_ctl, "-D", datadir, "-o", opts, "-l", os.path.join(workdir, "log"), "-w", "start")
    if res.returncode != 0:
        unavailable(f"PostgreSQL did not start: {res.stderr.decode(errors='replace')[-400:]}")
    try:
        res = run(
            _pg_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "okxbot", "okxbot"
        )
        if res.returncode != 0:
            unavailable(f"createdb failed: {res.stderr.decode(errors='replace')[-400:]}")
        yield PostgresServer(port)
    finally:
        run(pg_ctl, "-D", datadir, "-m", "immediate", "stop")
        shutil.rmtree(workdir, ignore_errors=True)
