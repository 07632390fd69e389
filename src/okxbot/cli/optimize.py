"""`okxbot optimize CONFIG`: search a bot's settings on history with Optuna, scored out of sample.

Thin: check the input (okxbot.backtest.optimize.make_plan), run, render (Rich progress and tables,
--json). Only typer is imported at module level; optuna loads inside the command.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from okxbot.backtest.optimize import Outcome, Plan, WindowResult
    from okxbot.backtest.walk_forward import Window

HELP = (
    "Search a bot's settings on history: each trial is one backtest; the best settings are then scored on "
    "data the search never saw.\n\n"
    "Example: okxbot optimize examples/grid.toml --from 2024-01-01 --to 2024-07-01 --param grid.levels=5..30 "
    "--param grid.lower=58000..61000:500 --trials 200 --jobs 2\n\n"
    "--param PATH=LOW..HIGH[:STEP] or PATH=A,B,C (repeatable). Whole-number settings step by 1; Decimal ones by "
    "the finest digit written in the bounds unless :STEP is given. An unknown PATH lists the settings this "
    "config can vary.\n\n"
    "Against overfitting: by default the last 25 % of --from..--to is held out (--holdout) and the best "
    "settings are backtested on it once: the out-of-sample score is printed beside the in-sample one. "
    "--walk-forward 60d/20d instead optimises on rolling 60-day windows and scores each window's best "
    "settings on the 20 days after it.\n\n"
    "Scale out: --jobs N runs N processes here. --storage postgresql://USER@HOST/DB makes the study an Optuna "
    "RDB study: the same command run on other machines with the same --storage joins it (the study name is "
    "derived from the command; --study names it). --trials is the total per window over all workers.\n\n"
    "Exit status: 0 done, 1 no trial could be scored, 2 bad input (nothing run)."
)


def optimize(
    config: str = typer.Argument(..., help="The bot's TOML config (the same file `okxbot run` takes)."),
    start: str = typer.Option(
        ..., "--from", help="Start of the history: 2024-01-31, 2024-01-31T12:00 (UTC), or 90d."
    ),
    end: str = typer.Option("now", "--to", help="End (excluded), same forms as --from."),
    param: list[str] = typer.Option(
        [], "--param", help="PATH=LOW..HIGH[:STEP] or PATH=A,B,C, e.g. grid.levels=5..30 (repeatable)."
    ),
    trials: int = typer.Option(50, "--trials", help="Trials per window, in total over all workers."),
    jobs: int = typer.Option(1, "--jobs", help="Worker processes on this machine (one core each)."),
    objective: str = typer.Option(
        "sharpe", "--objective", help="The metric to optimise: sharpe, sortino, calmar, total_return, ..."
    ),
    direction: str | None = typer.Option(
        None,
        "--direction",
        help="max or min (default: what is better for the metric, e.g. min for max_drawdown).",
    ),
    storage: str | None = typer.Option(
        None,
        "--storage",
        envvar="OKXBOT_OPTIMIZE_STORAGE",
        help="Shared study: postgresql://USER@HOST/DB (workers on many machines), sqlite:///PATH or journal:PATH.",
    ),
    study: str | None = typer.Option(None, "--study", help="Study name (default: derived from the command)."),
    walk: str | None = typer.Option(
        None,
        "--walk-forward",
        help="TRAIN/TEST windows, e.g. 60d/20d: optimise on TRAIN, score on the TEST after it.",
    ),
    hold_out: str = typer.Option(
        "25%",
        "--holdout",
        help="Without --walk-forward: the last part kept out of the search (25%, 30d, 0 = none).",
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Seed of the sampler: the same seed, the same trials (--jobs 1)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts instead of tables."),
) -> None:
    from okxbot.backtest.optimize import OptimizeError, make_plan, run
    from okxbot.backtest.search_space import SearchSpaceError
    from okxbot.data.dates import parse_date
    from okxbot.data.errors import DataError
    from okxbot.trading.config import ConfigError

    try:
        plan = make_plan(
            config,
            parse_date(start, "--from"),
            parse_date(end, "--to"),
            param,
            objective=objective,
            direction=direction,
            trials=trials,
            jobs=jobs,
            storage=storage,
            study=study,
            seed=seed,
            walk=walk,
            hold_out=hold_out,
        )
    except (SearchSpaceError, ConfigError, DataError) as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None
    from rich.console import Console

    err_console = Console(stderr=True)
    try:
        if as_json:
            outcome = run(plan)
        else:
            _describe(err_console, plan)
            with _RichProgress(err_console) as progress:
                outcome = run(plan, progress)
    except SearchSpaceError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(2) from None
    except OptimizeError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        from okxbot.backtest.optimize import outcome_json

        print(json.dumps(outcome_json(outcome), indent=1))
    else:
        render(Console(), outcome)
    if all(w.best_params is None for w in outcome.windows):
        raise typer.Exit(1)


def _describe(console: Console, plan: Plan) -> None:
    from okxbot.backtest.study_storage import shown

    where = (
        shown(plan.storage) if plan.storage else ("memory" if plan.jobs == 1 else "a temporary journal file")
    )
    console.print(
        f"Study [bold]{plan.study}[/] in {where}: {plan.trials} trials per window, {plan.jobs} "
        f"process(es) here, {plan.direction} {plan.objective}."
    )
    for spec in plan.params:
        console.print(f"  {spec.path}: {spec.describe()}")


class _RichProgress:
    """One bar per window: trials finished (all workers) and the best objective so far."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: Any = None

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start_window(self, index: int, plan: Plan, done: int) -> None:
        from okxbot.backtest import report_format as fmt

        window = plan.windows[index]
        label = f"window {index + 1}/{len(plan.windows)} train {fmt.when(window.train_start)[:10]}..{fmt.when(window.train_end)[:10]}"
        self._task = self._progress.add_task(
            label, total=plan.trials, completed=min(done, plan.trials), best="-"
        )

    def update(self, done: int, best: float | None) -> None:
        self._progress.update(self._task, completed=done, best="-" if best is None else f"{best:.4g}")

    def end_window(self, result: WindowResult) -> None:
        self._progress.update(self._task, completed=result.trials)


def _windows(window: Window) -> str:
    """Train start, train end (= test start), test end: dates alone when all are midnights."""
    from okxbot.backtest import report_format as fmt

    ends = [window.train_start, window.train_end] + ([window.test_end] if window.test_end is not None else [])
    short = all(t % 86_400_000 == 0 for t in ends)
    text = [fmt.when(t)[:10] if short else fmt.when(t) for t in ends]
    lines = [text[0], f"-> {text[1]} train"]
    if len(text) == 3:
        lines.append(f"-> {text[2]} test")
    return "\n".join(lines)


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.4g}"


def render(console: Console, outcome: Outcome) -> None:
    """The results table: per window best settings, in-sample vs out-of-sample objective."""
    from rich.markup import escape
    from rich.table import Table

    from okxbot.backtest.optimize import summary

    plan = outcome.plan
    table = Table(title=f"okxbot optimize {plan.bot}: {plan.direction} {plan.objective}")
    table.add_column("#", justify="right")
    table.add_column("train -> test (UTC)", no_wrap=True)
    table.add_column("trials", justify="right")
    table.add_column("best settings", overflow="fold", ratio=1)
    table.add_column("in\nsample", justify="right", no_wrap=True)
    table.add_column("out of\nsample", justify="right", no_wrap=True)
    for w in outcome.windows:
        best = (
            "\n".join(f"{k}={v}" for k, v in w.best_params.items())
            if w.best_params
            else f"[yellow]{escape(w.problem or '')}[/]"
        )
        trials = str(w.complete)
        if w.pruned or w.failed:
            trials += f" ({w.pruned} pruned, {w.failed} failed)"
        table.add_row(
            str(w.index + 1),
            _windows(w.window),
            trials,
            best,
            _score(w.in_sample),
            _score(w.out_of_sample),
        )
    console.print(table)
    means = summary(outcome)
    console.print(
        f"{plan.objective}: in-sample mean {_score(means['in_sample_mean'])}, out-of-sample mean "
        f"{_score(means['out_of_sample_mean'])}; the config as written scored {_score(outcome.baseline)} "
        "in-sample (first window)."
    )
    if any(w.best_params and w.window.has_test and w.out_of_sample is None for w in outcome.windows):
        console.print(
            f"n/a out of sample: {plan.objective} is not defined on that test range with those settings "
            "(no trade, no variance, or fewer than 2 days for a daily ratio)."
        )
    if len(outcome.windows) > 1 or outcome.windows[0].window.has_test:
        console.print(
            "Out-of-sample is what to expect; a much lower out-of-sample than in-sample score means the search "
            "fitted noise (overfitting)."
        )
    workers: dict[str, int] = {}
    for w in outcome.windows:
        for name, count in w.workers.items():
            workers[name] = workers.get(name, 0) + count
    if len(workers) > 1:
        console.print("Trials by worker: " + ", ".join(f"{k} {v}" for k, v in sorted(workers.items())))
    latest = next((w for w in reversed(outcome.windows) if w.best_params), None)
    if latest is not None and latest.best_params is not None:
        console.print("Best settings of the latest window, for the config:")
        tables: dict[str, list[str]] = {}
        for path, value in latest.best_params.items():
            section, _, key = path.rpartition(".")
            shown = f'"{value}"' if not isinstance(value, bool | int | float) else str(value).lower()
            tables.setdefault(section, []).append(f"{key} = {shown}")
        for section, lines in tables.items():
            console.print(escape(f"[{section}]"), highlight=False)
            for line in lines:
                console.print(line, highlight=False)
