"""`okxbot optimize`: search a bot's settings with Optuna, each trial one backtest, and score the best
settings on data the search never saw.

    plan = make_plan(config_path, start_ms, end_ms, ["grid.levels=5..30"], objective="sharpe", ...)
    outcome = run(plan, progress)         # -> Outcome(windows=[WindowResult ...], baseline=...)

Windows (okxbot.backtest.walk_forward): each window has its own study. Its trials backtest the
window's train range; the best trial's settings are then backtested once on the window's test range:
that is the out-of-sample score printed beside the in-sample one. Workers: `jobs` processes here,
and any number elsewhere running the same command with the same --storage (okxbot.backtest.
study_storage); the total number of trials per window is `trials` (a worker stops when the study
has that many; each worker may add one more while the others finish theirs).

A trial whose settings clash (grid.lower above grid.upper) or whose objective is n/a (no trade, so
no Sharpe) is pruned with the reason; a trial that fails is recorded as failed with its error, and
the search goes on. The same settings suggested twice are scored once (the second trial copies the
first one's value).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import socket
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from okxbot.backtest.metrics import BY_KEY, objectives, to_json
from okxbot.backtest.search_space import (
    InvalidCombination,
    ParamSpec,
    SearchSpaceError,
    apply,
    parse_params,
)
from okxbot.backtest.study_storage import normalize, open_storage, shown
from okxbot.backtest.walk_forward import Window, holdout, walk_forward
from okxbot.trading.config import BotConfig, parse_config

DEFAULT_EVALUATOR = "okxbot.backtest.engine_port:evaluate"
Evaluator = Callable[[BotConfig, int, int, str | None], dict[str, Any]]


class OptimizeError(Exception):
    """The search cannot go on (the config's own backtest fails, a worker died); str() says why."""


@dataclass(frozen=True)
class Plan:
    config_path: str
    config_text: str
    bot: str
    params: tuple[ParamSpec, ...]
    objective: str
    direction: str  # "maximize" | "minimize"
    trials: int  # per window, across every worker
    jobs: int  # worker processes on this machine
    windows: tuple[Window, ...]
    walk_forward: bool
    storage: str | None  # normalized spec (study_storage.normalize); None: in memory / temporary
    study: str
    seed: int | None
    evaluator: str = DEFAULT_EVALUATOR

    def study_name(self, index: int) -> str:
        return self.study if len(self.windows) == 1 else f"{self.study}-wf{index + 1}"


@dataclass
class WindowResult:
    index: int
    window: Window
    study: str
    trials: int = 0
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    best_trial: int | None = None
    best_params: dict[str, Any] | None = None
    in_sample: float | None = None
    out_of_sample: float | None = None
    in_sample_metrics: dict[str, Any] | None = None
    out_of_sample_metrics: dict[str, Any] | None = None
    workers: dict[str, int] = field(default_factory=dict)  # worker -> trials it finished
    problem: str | None = None  # why there is no best trial


@dataclass
class Outcome:
    plan: Plan
    baseline: float | None  # the config as written, on the first window's train range
    windows: list[WindowResult]


class Progress(Protocol):
    def start_window(self, index: int, plan: Plan, done: int) -> None: ...
    def update(self, done: int, best: float | None) -> None: ...
    def end_window(self, result: WindowResult) -> None: ...


class NoProgress:
    def start_window(self, index: int, plan: Plan, done: int) -> None:
        pass

    def update(self, done: int, best: float | None) -> None:
        pass

    def end_window(self, result: WindowResult) -> None:
        pass


def make_plan(
    config_path: str,
    start_ms: int,
    end_ms: int,
    params: list[str],
    *,
    objective: str = "sharpe",
    direction: str | None = None,
    trials: int = 50,
    jobs: int = 1,
    storage: str | None = None,
    study: str | None = None,
    seed: int | None = None,
    walk: str | None = None,
    hold_out: str = "25%",
    evaluator: str = DEFAULT_EVALUATOR,
) -> Plan:
    """Check every input (nothing runs yet); SearchSpaceError / ConfigError say what to fix."""
    from pathlib import Path

    from okxbot.trading.config import ConfigError

    try:
        text = Path(config_path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            config_path, None, f"cannot read the config ({err.strerror})", "check the path"
        ) from None
    config = parse_config(text, config_path)
    if end_ms <= start_ms:
        raise SearchSpaceError("--to is not after --from", "give a --to later than --from")
    specs = tuple(parse_params(params, config))
    if objective not in objectives():
        raise SearchSpaceError(
            f"--objective {objective!r} is not a metric that can be optimised",
            "use one of: " + ", ".join(objectives()),
        )
    if direction is None:
        direction = "maximize" if BY_KEY[objective].better == "higher" else "minimize"
    elif direction in ("max", "maximize"):
        direction = "maximize"
    elif direction in ("min", "minimize"):
        direction = "minimize"
    else:
        raise SearchSpaceError(
            f"--direction {direction!r} is not max or min", "write --direction max or --direction min"
        )
    if trials < 1 or jobs < 1:
        raise SearchSpaceError("--trials and --jobs must be at least 1", "e.g. --trials 100 --jobs 2")
    windows = tuple(walk_forward(start_ms, end_ms, walk) if walk else [holdout(start_ms, end_ms, hold_out)])
    spec = normalize(storage) if storage else None
    if study is None:
        # the same command on another machine derives the same name, so it joins the same study
        digest = hashlib.sha256(
            "|".join(
                [text, *(s.path + "=" + s.describe() for s in specs), objective, direction, str(start_ms),
                 str(end_ms), walk or f"holdout {hold_out}"]
            ).encode()
        ).hexdigest()[:10]  # fmt: skip
        study = f"okxbot-{config.name}-{digest}"
    return Plan(
        config_path=config_path,
        config_text=text,
        bot=config.name,
        params=specs,
        objective=objective,
        direction=direction,
        trials=trials,
        jobs=min(jobs, trials),
        windows=windows,
        walk_forward=walk is not None,
        storage=spec,
        study=study,
        seed=seed,
        evaluator=evaluator,
    )


def load_evaluator(path: str) -> Evaluator:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def suggest(trial: Any, spec: ParamSpec) -> Any:
    """Ask the trial for one value of `spec`, returned exactly as the config holds it."""
    if spec.kind == "choice":
        labels = [str(c) if isinstance(c, Decimal) else c for c in spec.choices]
        picked = trial.suggest_categorical(spec.path, labels)
        return spec.choices[labels.index(picked)]
    assert spec.low is not None and spec.step is not None
    top = spec.low + spec.step * (spec.count - 1)
    if spec.kind == "int":
        return trial.suggest_int(spec.path, int(spec.low), int(top), step=int(spec.step))
    raw = trial.suggest_float(spec.path, float(spec.low), float(top), step=float(spec.step))
    return spec.value(_index(spec, raw))


def _index(spec: ParamSpec, raw: float) -> int:
    assert spec.low is not None and spec.step is not None
    return max(0, min(spec.count - 1, round((Decimal(repr(raw)) - spec.low) / spec.step)))


def values_of(specs: tuple[ParamSpec, ...], params: dict[str, Any]) -> dict[str, Any]:
    """A trial's Optuna params back to exact config values."""
    out = {}
    for spec in specs:
        raw = params[spec.path]
        if spec.kind == "choice":
            labels = [str(c) if isinstance(c, Decimal) else c for c in spec.choices]
            out[spec.path] = spec.choices[labels.index(raw)]
        elif spec.kind == "int":
            out[spec.path] = int(raw)
        else:
            out[spec.path] = spec.value(_index(spec, float(raw)))
    return out


@contextmanager
def quiet_bot_logs() -> Iterator[None]:
    """A trial is a whole bot session: its per-order warnings (refusals, ...) would flood the terminal
    hundreds of times per trial. Only errors pass while trials run; the metrics say the rest."""
    logger = logging.getLogger("okxbot.trading")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _sampler(plan: Plan, worker: int) -> Any:
    import optuna

    seed = None
    if plan.seed is not None:
        seed = plan.seed + worker
        if plan.storage is not None and not plan.storage.startswith("journal:"):
            # workers on other machines may use the same --seed: keep their first guesses apart
            seed += zlib.crc32(_worker_id().encode()) % 100_000
    return optuna.samplers.TPESampler(seed=seed)


def _attrs(plan: Plan, window: Window) -> dict[str, Any]:
    return {
        "bot": plan.bot,
        "objective": plan.objective,
        "direction": plan.direction,
        "params": [f"{s.path}={s.describe()}" for s in plan.params],
        "train": [window.train_start, window.train_end],
    }


def open_study(plan: Plan, index: int, storage: Any, worker: int = 0) -> Any:
    """Create the window's study, or join it; refuse one made for other settings."""
    import optuna

    name = plan.study_name(index)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction=plan.direction,
        load_if_exists=True,
        sampler=_sampler(plan, worker),
    )
    wanted = _attrs(plan, plan.windows[index])
    found = study.user_attrs.get("okxbot")
    if found is None:
        study.set_user_attr("okxbot", wanted)
    elif found != wanted or study.direction.name.lower() != plan.direction:
        where = shown(plan.storage) if plan.storage else "this run"
        raise SearchSpaceError(
            f"study {name!r} in {where} was made for other settings ({found})",
            "pick another --study name, or run exactly the command of the study's other workers",
        )
    return study


def _objective(plan: Plan, index: int, study: Any, evaluate: Evaluator) -> Callable[[Any], float]:
    import optuna
    from optuna.trial import TrialState

    window = plan.windows[index]
    me = _worker_id()

    def objective(trial: Any) -> float:
        values = {spec.path: suggest(trial, spec) for spec in plan.params}
        trial.set_user_attr("worker", me)
        for done in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if done.params == trial.params and done.number != trial.number:
                trial.set_user_attr("repeat_of", done.number)
                trial.set_user_attr("metrics", done.user_attrs.get("metrics"))
                return float(done.value)
        try:
            config = apply(plan.config_text, values, plan.config_path)
        except InvalidCombination as err:
            trial.set_user_attr("pruned", str(err))
            raise optuna.TrialPruned(str(err)) from None
        found = evaluate(config, window.train_start, window.train_end, plan.config_path)
        trial.set_user_attr("metrics", to_json(found))
        value = found.get(plan.objective)
        if value is None:
            reason = f"{plan.objective} is n/a for these settings (e.g. no trade or no variance)"
            trial.set_user_attr("pruned", reason)
            raise optuna.TrialPruned(reason)
        return float(value)

    return objective


def _finished(study: Any) -> int:
    return len(study.get_trials(deepcopy=False))


def _best(study: Any) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:  # no complete trial yet
        return None


def run_trials(plan: Plan, index: int, worker: int, storage: Any, progress: Progress | None = None) -> None:
    """One worker's share of a window's search: trials until the study holds plan.trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(plan, index, storage, worker)
    if _finished(study) >= plan.trials:
        return
    evaluate = load_evaluator(plan.evaluator)
    callbacks: list[Any] = [optuna.study.MaxTrialsCallback(plan.trials, states=None)]
    if progress is not None:
        callbacks.append(lambda s, _t: progress.update(_finished(s), _best(s)))
    with quiet_bot_logs():
        study.optimize(
            _objective(plan, index, study, evaluate),
            n_trials=plan.trials,
            callbacks=callbacks,
            catch=(Exception,),
        )


def _worker_main(plan: Plan, index: int, worker: int, spec: str) -> None:
    """Entry point of a --jobs process (spawned: imports okxbot afresh)."""
    run_trials(plan, index, worker, open_storage(spec))


def _run_processes(plan: Plan, index: int, spec: str, study: Any, progress: Progress) -> None:
    import multiprocessing
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker_main, args=(plan, index, k, spec), daemon=True) for k in range(plan.jobs)
    ]
    for proc in procs:
        proc.start()
    try:
        while any(p.is_alive() for p in procs):
            wait([p.sentinel for p in procs if p.is_alive()], timeout=0.5)
            progress.update(_finished(study), _best(study))
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise OptimizeError(
            f"{len(bad)} of {plan.jobs} worker processes failed (exit status {bad[0]}); see above"
        )


def _window_result(plan: Plan, index: int, study: Any, evaluate: Evaluator) -> WindowResult:
    from optuna.trial import TrialState

    window = plan.windows[index]
    trials = study.get_trials(deepcopy=False)
    result = WindowResult(index=index, window=window, study=plan.study_name(index), trials=len(trials))
    for t in trials:
        result.complete += t.state == TrialState.COMPLETE
        result.pruned += t.state == TrialState.PRUNED
        result.failed += t.state == TrialState.FAIL
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            worker = t.user_attrs.get("worker", "?")
            result.workers[worker] = result.workers.get(worker, 0) + 1
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        reasons = [t.user_attrs.get("pruned") or t.system_attrs.get("fail_reason") for t in trials]
        result.problem = next((r for r in reasons if r), "no trial finished")
        return result
    best = study.best_trial
    result.best_trial = best.number
    result.best_params = values_of(plan.params, best.params)
    result.in_sample = float(best.value)
    result.in_sample_metrics = best.user_attrs.get("metrics")
    if window.test_start is not None and window.test_end is not None:
        config = apply(plan.config_text, result.best_params, plan.config_path)
        with quiet_bot_logs():
            found = evaluate(config, window.test_start, window.test_end, plan.config_path)
        result.out_of_sample_metrics = to_json(found)
        value = found.get(plan.objective)
        result.out_of_sample = None if value is None else float(value)
    return result


def baseline(plan: Plan, evaluate: Evaluator) -> float | None:
    """The config as written, backtested on the first train range: proves the backtest runs at all."""
    window = plan.windows[0]
    config = parse_config(plan.config_text, plan.config_path)
    try:
        with quiet_bot_logs():
            found = evaluate(config, window.train_start, window.train_end, plan.config_path)
    except Exception as err:
        raise OptimizeError(f"the config's own backtest fails, so no trial could run: {err}") from err
    value = found.get(plan.objective)
    return None if value is None else float(value)


def run(plan: Plan, progress: Progress | None = None) -> Outcome:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    progress = progress or NoProgress()
    evaluate = load_evaluator(plan.evaluator)
    first = baseline(plan, evaluate)
    with tempfile.TemporaryDirectory(prefix="okxbot-optimize-") as tmp:
        spec = plan.storage
        if spec is None and plan.jobs > 1:
            spec = f"journal:{os.path.join(tmp, 'study.journal')}"
        storage = open_storage(spec)
        results = []
        for index in range(len(plan.windows)):
            study = open_study(plan, index, storage)
            progress.start_window(index, plan, _finished(study))
            if plan.jobs == 1 or spec is None:
                run_trials(plan, index, 0, storage, progress)
            else:
                _run_processes(plan, index, spec, study, progress)
            result = _window_result(plan, index, study, evaluate)
            progress.end_window(result)
            results.append(result)
    return Outcome(plan=plan, baseline=first, windows=results)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def summary(outcome: Outcome) -> dict[str, float | None]:
    """Mean in-sample and out-of-sample objective over the windows that have them."""
    return {
        "in_sample_mean": _mean([w.in_sample for w in outcome.windows]),
        "out_of_sample_mean": _mean([w.out_of_sample for w in outcome.windows]),
    }


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """What `okxbot optimize --json` prints: stable keys, exact Decimal strings for settings."""
    plan = outcome.plan
    return {
        "format": "okxbot-optimize/1",
        "bot": plan.bot,
        "config": plan.config_path,
        "study": plan.study,
        "storage": shown(plan.storage) if plan.storage else None,
        "objective": plan.objective,
        "direction": plan.direction,
        "trials": plan.trials,
        "jobs": plan.jobs,
        "seed": plan.seed,
        "mode": "walk-forward" if plan.walk_forward else "holdout",
        "params": [
            {
                "path": s.path,
                "kind": s.kind,
                "low": _json_value(s.low),
                "high": _json_value(s.high),
                "step": _json_value(s.step),
                "choices": [_json_value(c) for c in s.choices],
            }
            for s in plan.params
        ],
        "baseline_in_sample": outcome.baseline,
        "windows": [
            {
                "index": w.index,
                "study": w.study,
                "train_start": w.window.train_start,
                "train_end": w.window.train_end,
                "test_start": w.window.test_start,
                "test_end": w.window.test_end,
                "trials": w.trials,
                "complete": w.complete,
                "pruned": w.pruned,
                "failed": w.failed,
                "best_trial": w.best_trial,
                "best_params": None
                if w.best_params is None
                else {k: _json_value(v) for k, v in w.best_params.items()},
                "in_sample": w.in_sample,
                "out_of_sample": w.out_of_sample,
                "in_sample_metrics": w.in_sample_metrics,
                "out_of_sample_metrics": w.out_of_sample_metrics,
                "workers": w.workers,
                "problem": w.problem,
            }
            for w in outcome.windows
        ],
        "summary": summary(outcome),
    }
