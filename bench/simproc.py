"""The simulator in its own process, for benchmarks.

An in-process simulator shares the GIL with the code being measured: its market step (a few ms
every 100 ms) would show up as client latency. Benchmarks of the client run it here instead.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class SimProcess:
    rest: str
    ws: str
    keys: list[dict[str, Any]]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, self.rest + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()


@contextmanager
def sim_process(seed: int = 7) -> Iterator[SimProcess]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "okxbot", "sim", "serve", "--port", "0", "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process exited before it was ready")
        ready = json.loads(line)
        yield SimProcess(ready["rest"], ready["ws"], ready["keys"])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
