"""`python -m bench NAME --option ...` hands the options to the benchmark (`python -m bench serve
--bots 5` used to run 20 bots: the options were dropped)."""

from __future__ import annotations

from typing import Any

import bench.__main__ as runner
import bench.bench_serve
import pytest


def test_options_reach_the_named_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(bench.bench_serve, "main", lambda argv=None: seen.append(argv))
    assert runner.main(["serve", "--bots", "5", "--idle", "3"]) == 0
    assert seen == [["--bots", "5", "--idle", "3"]]


def test_unknown_names_and_options_for_a_benchmark_without_any_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert runner.main(["nosuch"]) == 2
    assert "unknown benchmark" in capsys.readouterr().out
    assert runner.main(["vault", "--bots", "5"]) == 2
    assert "no options" in capsys.readouterr().out
