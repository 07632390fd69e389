from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okxbot.serve.registry import Registry
from okxbot.serve.server import Running
from tests.serve import kit


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with kit.serve_home(tmp_path, monkeypatch) as path:
        yield path


@pytest.fixture
def served(home: Path, sim: Any) -> Iterator[Running]:
    """`okxbot serve` (in this process, its own thread and loop) with a password and one grid bot
    registered on the simulator (not started)."""
    kit.set_password(home)
    running = kit.start(home)
    registry: Registry = running.ctx.registry
    registry.add_bot("grid-a", kit.grid_config("grid-a", kit.sim_mid(sim.rest)), sim_url=sim.rest)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(served: Running) -> Iterator[kit.Client]:
    c = kit.Client(served.url)
    try:
        yield c
    finally:
        c.close()
