"""Section 6: `okxbot optimize` machinery: parameters, Optuna studies, workers, windows.

Trials here are scored by tests/backtest/fake_engine.py (a deterministic function of the settings and
the window), because these tests are about the search itself; the engine's run is tested end to end
apart. PostgreSQL is a real throwaway server; worker processes are real processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from okxbot.backtest import optimize as opt
from okxbot.backtest.search_space import SearchSpaceError
from okxbot.backtest.study_storage import normalize, shown
from okxbot.cli.main import app
from okxbot.cli.optimize import render
from tests.backtest import fake_engine
from tests.backtest.fake_engine import DAY, T0

FAKE = "tests.backtest.fake_engine:evaluate"
ROOT = Path(__file__).resolve().parents[2]
GRID = (ROOT / "examples" / "grid.toml").read_text()
runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "grid.toml"
    path.write_text(GRID)
    return str(path)


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    fake_engine.CALLS.clear()


def plan(config: str, params: list[str], **kw: Any) -> opt.Plan:
    kw.setdefault("trials", 12)
    kw.setdefault("seed", 1)
    return opt.make_plan(config, T0, kw.pop("end", T0 + 40 * DAY), params, evaluator=FAKE, **kw)


def cli(*args: str) -> Any:
    return runner.invoke(app, ["optimize", *args])


def test_bad_input_names_the_fix_and_runs_nothing(config: str) -> None:
    base = [config, "--from", "2024-01-01", "--to", "2024-03-01"]
    out = cli(*base, "--param", "grid.levle=5..30")
    assert out.exit_code == 2 and "no setting 'grid.levle'" in out.output
    assert "grid.levels, grid.lower, grid.size, grid.upper, risk." in out.output  # the valid ones
    cases = {
        "grid.levels=30..5": "is empty (low above high)",
        "grid.levels=5.5..9": "is a whole number",
        "grid.levels=1..9": "1 is not allowed (Input should be greater than or equal to 2)",
        "grid.lower=a..b": "'a' is not a number",
        "grid.lower=1..9:0": "step 0 must be above 0",
        "grid.levels": "has no '='",
    }
    for spec, message in cases.items():
        out = cli(*base, "--param", spec)
        assert out.exit_code == 2 and message in out.output, (spec, out.output)
    out = cli(*base, "--param", "grid.levels=5..9", "--objective", "luck")
    assert out.exit_code == 2 and "use one of: end_equity, net_profit" in out.output
    out = cli(*base, "--param", "grid.levels=5..9", "--walk-forward", "60d")
    assert out.exit_code == 2 and "is not TRAIN/TEST" in out.output
    out = cli(*base, "--param", "grid.levels=5..9", "--walk-forward", "60d/20d")
    assert out.exit_code == 2 and "shorter than one train + test window" in out.output
    out = cli(*base, "--param", "grid.levels=5..9", "--storage", "postgres-somewhere")
    assert out.exit_code == 2 and "is not a database URL" in out.output
    out = cli(*base)
    assert out.exit_code == 2 and "no --param given" in out.output
    out = cli(*base, "--param", "grid.levels=5..9", "--param", "grid.levels=6..7")
    assert out.exit_code == 2 and "given twice" in out.output
    assert fake_engine.CALLS == []


def test_decimal_ranges_give_exact_values(config: str) -> None:
    opt.run(plan(config, ["grid.lower=60000..61000:50", "grid.size=0.001..0.004"], trials=10, hold_out="0"))
    lowers = {lower for _, lower, _, _ in fake_engine.CALLS}
    assert all(isinstance(v, Decimal) and v % 50 == 0 and 60000 <= v <= 61000 for v in lowers), lowers
    spec = opt.make_plan(config, T0, T0 + DAY, ["grid.size=0.001..0.004"], evaluator=FAKE).params[0]
    assert [spec.value(i) for i in range(spec.count)] == [
        Decimal(x) for x in ("0.001", "0.002", "0.003", "0.004")
    ]


def test_the_same_seed_gives_the_same_trials(config: str) -> None:
    params = ["grid.levels=5..30", "grid.lower=60000..61000:100"]
    opt.run(plan(config, params, seed=7))
    first = list(fake_engine.CALLS)
    fake_engine.CALLS.clear()
    opt.run(plan(config, params, seed=7))
    assert fake_engine.CALLS == first
    fake_engine.CALLS.clear()
    opt.run(plan(config, params, seed=8))
    assert fake_engine.CALLS != first


def test_the_search_finds_the_best_settings(config: str) -> None:
    outcome = opt.run(
        plan(config, ["grid.levels=5..30", "grid.lower=60000..61000:100"], trials=80, hold_out="0")
    )
    (window,) = outcome.windows
    assert window.best_params == {"grid.levels": 12, "grid.lower": Decimal("60300")}
    assert window.in_sample == pytest.approx(3.0)
    assert window.out_of_sample is None and not window.window.has_test
    # the config as written (levels 10, lower 60000) scored on the same range
    assert outcome.baseline == pytest.approx(3.0 - 4 / 20 - 0.3)


def test_clashing_settings_and_na_objectives_are_pruned_with_the_reason(config: str) -> None:
    # upper is 62000: lower 62000 or 63000 clashes; levels 29 makes the objective n/a
    outcome = opt.run(
        plan(config, ["grid.lower=61000..63000:1000", "grid.levels=28..29"], trials=14, hold_out="0")
    )
    (window,) = outcome.windows
    assert window.pruned > 0 and window.complete > 0 and window.failed == 0
    assert window.best_params == {"grid.lower": Decimal("61000"), "grid.levels": 28}
    import optuna

    storage = optuna.storages.InMemoryStorage()
    p = plan(config, ["grid.lower=62000..63000:1000"], trials=3, hold_out="0")
    opt.run_trials(p, 0, 0, storage)
    study = optuna.load_study(study_name=p.study, storage=storage)
    reasons = {t.user_attrs.get("pruned") for t in study.trials}
    assert reasons == {
        "grid: lower (62000) must be below upper (62000)",
        "grid: lower (63000) must be below upper (62000)",
    }


def test_holdout_scores_the_best_settings_out_of_sample(config: str) -> None:
    outcome = opt.run(plan(config, ["grid.levels=5..30"], trials=30, end=T0 + 80 * DAY))
    (window,) = outcome.windows
    w = window.window
    assert (w.train_start, w.train_end, w.test_start, w.test_end) == (
        T0,
        T0 + 60 * DAY,
        T0 + 60 * DAY,
        T0 + 80 * DAY,
    )
    assert window.best_params == {"grid.levels": 12}
    # the last evaluation is the out-of-sample one: the best settings on the held-out range
    assert fake_engine.CALLS[-1] == (12, Decimal("60000"), T0 + 60 * DAY, T0 + 80 * DAY)
    assert window.out_of_sample == pytest.approx(3.0 - (12 - 14) ** 2 / 20 - 0.3)
    assert window.in_sample == pytest.approx(2.7) and window.out_of_sample < window.in_sample


def test_walk_forward_optimises_each_train_window_and_tests_on_the_next(config: str) -> None:
    outcome = opt.run(plan(config, ["grid.levels=5..30"], trials=30, walk="30d/15d", end=T0 + 75 * DAY))
    windows = [
        (w.window.train_start, w.window.train_end, w.window.test_start, w.window.test_end)
        for w in outcome.windows
    ]
    d = lambda n: T0 + n * DAY  # noqa: E731
    assert windows == [
        (d(0), d(30), d(30), d(45)),
        (d(15), d(45), d(45), d(60)),
        (d(30), d(60), d(60), d(75)),
    ]
    assert [w.study for w in outcome.windows] == [f"{outcome.plan.study}-wf{i}" for i in (1, 2, 3)]
    # the optimum moves with the window (12 from day 0, 13 from day 30): each window finds its own
    assert [w.best_params for w in outcome.windows] == [
        {"grid.levels": 12},
        {"grid.levels": 12},
        {"grid.levels": 13},
    ]
    for w in outcome.windows:
        best = w.best_params["grid.levels"]  # type: ignore[index]
        assert (best, Decimal("60000"), w.window.test_start, w.window.test_end) in fake_engine.CALLS
        expected = 3.0 - (best - fake_engine.optimum(w.window.test_start)) ** 2 / 20 - 0.3  # type: ignore[arg-type]
        assert w.out_of_sample == pytest.approx(expected)
    # trials never see a test range: every trial evaluation lies inside its window's train range
    trial_calls = [c for c in fake_engine.CALLS if c[3] - c[2] == 30 * DAY]
    assert len(trial_calls) >= 3 * 10


def test_jobs_run_worker_processes_on_one_shared_study(config: str, tmp_path: Path, monkeypatch: Any) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    monkeypatch.setenv("OKXBOT_TEST_BARRIER", str(barrier))
    monkeypatch.setenv("OKXBOT_TEST_BARRIER_N", "2")
    monkeypatch.setenv("OKXBOT_TEST_BARRIER_SKIP", str(os.getpid()))
    outcome = opt.run(plan(config, ["grid.levels=5..30"], trials=12, jobs=2, hold_out="0"))
    (window,) = outcome.windows
    assert len(window.workers) == 2 and all(n > 0 for n in window.workers.values())
    assert os.getpid() not in {int(w.split(":")[1]) for w in window.workers}  # done by the workers
    assert 12 <= window.trials <= 13 and window.best_params is not None


WORKER = """
import json, sys
from okxbot.backtest import optimize as opt
plan = opt.make_plan(sys.argv[1], {start}, {end}, ["grid.levels=5..30", "grid.lower=60000..61000:100"],
                     trials=16, storage=sys.argv[2], study="shared-grid", seed=3, hold_out="0",
                     evaluator="tests.backtest.fake_engine:evaluate")
print(json.dumps(opt.outcome_json(opt.run(plan))))
"""


@pytest.mark.postgres
def test_two_worker_processes_share_one_postgresql_study(config: str, postgres: Any, tmp_path: Path) -> None:
    import optuna

    barrier = tmp_path / "barrier"
    barrier.mkdir()
    url = f"postgresql://okxbot@127.0.0.1:{postgres.port}/okxbot"  # as a user writes it
    env = dict(os.environ, OKXBOT_TEST_BARRIER=str(barrier), OKXBOT_TEST_BARRIER_N="2", PYTHONPATH=str(ROOT))
    code = WORKER.format(start=T0, end=T0 + 40 * DAY)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, config, url], env=env, stdout=subprocess.PIPE, cwd=ROOT)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    study = optuna.load_study(study_name="shared-grid", storage=normalize(url))
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert {int(w.split(":")[1]) for w in workers} == {p.pid for p in procs}  # both contributed
    assert 16 <= len(study.trials) <= 17
    reports = [json.loads(out) for out in outputs]
    assert reports[0]["storage"] == f"postgresql+psycopg://okxbot@127.0.0.1:{postgres.port}/okxbot"
    assert reports[0]["windows"][0]["trials"] >= 16
    assert {r["windows"][0]["study"] for r in reports} == {"shared-grid"}


def test_a_study_made_for_other_settings_is_refused(config: str, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    opt.run(plan(config, ["grid.levels=5..30"], trials=3, storage=storage, study="mine", hold_out="0"))
    again = opt.run(
        plan(config, ["grid.levels=5..30"], trials=5, storage=storage, study="mine", hold_out="0")
    )
    assert again.windows[0].trials == 5  # the same command resumes the study: 3 more trials, not 5
    with pytest.raises(SearchSpaceError, match="was made for other settings"):
        opt.run(plan(config, ["grid.levels=5..20"], trials=3, storage=storage, study="mine", hold_out="0"))


def test_results_table_and_json(config: str) -> None:
    outcome = opt.run(
        plan(config, ["grid.levels=5..30", "grid.lower=60000..61000:100"], trials=20, walk="20d/10d")
    )
    console = Console(record=True, width=200)
    render(console, outcome)
    text = console.export_text()
    assert "in" in text and "out of" in text and "-> 2024-01-21 train" in text
    for w in outcome.windows:
        assert f"{w.in_sample:,.4g}" in text and f"{w.out_of_sample:,.4g}" in text
    assert "[grid]" in text and "levels = " in text and 'lower = "' in text
    data = opt.outcome_json(outcome)
    assert data["mode"] == "walk-forward" and len(data["windows"]) == 2
    assert isinstance(data["windows"][0]["best_params"]["grid.lower"], str)
    assert data["summary"]["out_of_sample_mean"] == pytest.approx(
        sum(w.out_of_sample for w in outcome.windows) / 2  # type: ignore[misc]
    )
    json.dumps(data, allow_nan=False)


def test_storage_urls() -> None:
    assert normalize("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize("study.journal") == "journal:study.journal"
    assert "secret" not in shown(normalize("postgresql://u:secret@h/db"))
