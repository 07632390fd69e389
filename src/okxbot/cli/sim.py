"""`okxbot sim ...`: run the local OKX v5 simulator for your own ccxt / python-okx code."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="A local OKX v5 exchange (REST + WebSocket) for offline testing.", no_args_is_help=True
)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(0, help="Port to listen on; 0 picks a free one (printed on the ready line)."),
    seed: int = typer.Option(7, help="Seed of the synthetic market: the same seed replays the same prices."),
    config: Path | None = typer.Option(
        None,
        help="TOML or JSON file: balances, demo_balances, market, step_ms, timestamp_window_ms, "
        'account_level ("1" Spot mode, the default, or "2" Futures mode for the ready keys).',
    ),
    realism: bool = typer.Option(
        False,
        "--realism",
        help="Behave as asynchronously as OKX can: late executions after ambiguous answers (up to 400 ms, "
        "half of them), cancels and amends taking effect up to 150 ms after their acknowledgement, "
        "orders and fills missing from GET endpoints up to 200 ms. The flags below override single values.",
    ),
    late_exec_ms: int | None = typer.Option(
        None,
        "--late-exec-ms",
        help="A request answered with a timeout / 50001 / 50004 / 50013 / 50026 / HTTP 5xx (injected "
        "faults) may still execute up to this many ms later (never after its expTime). 0 = off.",
    ),
    late_exec_share: str | None = typer.Option(
        None,
        "--late-exec-share",
        help="Share (0..1) of those ambiguous answers that do execute late; the others never do. Default 0.5.",
    ),
    cancel_lag_ms: int | None = typer.Option(
        None,
        "--cancel-lag-ms",
        help="A cancel is acknowledged at once and takes effect up to this many ms later (fills may land "
        "in between). 0 = off.",
    ),
    amend_lag_ms: int | None = typer.Option(
        None, "--amend-lag-ms", help="The same for an amend: acknowledged at once, applied up to N ms later."
    ),
    read_lag_ms: int | None = typer.Option(
        None,
        "--read-lag-ms",
        help="New orders and fills stay missing from the GET endpoints (trade/order, orders-pending, "
        "orders-history, fills, fills-history) up to this many ms. 0 = off.",
    ),
) -> None:
    """Serve the simulator until Ctrl-C / SIGTERM.

    When it is ready it prints ONE JSON line: {"rest", "ws", "keys": [...]} with a live and a demo key
    (secrets included: they exist only in this simulator).

    By default it answers as OKX's documentation reads (an acknowledged order can be fetched at once);
    --realism and the lag flags make it as asynchronous as OKX really is (docs/architecture.md,
    "Realism"). The admin API changes them while it runs: POST /__sim__/realism.
    """
    import json
    import signal
    import threading

    from okxbot.sim.server import SimConfig, start_sim

    if not 0 <= port <= 65535:
        raise typer.BadParameter("port must be between 0 and 65535", param_hint="--port")
    try:
        cfg = SimConfig.from_mapping(_read_config(config)) if config is not None else SimConfig()
    except ValueError as err:
        typer.echo(f"error: {config}: {err}", err=True)
        raise typer.Exit(2) from None
    settings = _realism_settings(
        realism,
        {
            "lateExecMs": late_exec_ms,
            "lateExecShare": late_exec_share,
            "cancelLagMs": cancel_lag_ms,
            "amendLagMs": amend_lag_ms,
            "readLagMs": read_lag_ms,
        },
    )
    try:
        running = start_sim(host=host, port=port, seed=seed, config=cfg, realism=settings)
    except OSError as err:
        typer.echo(f"error: cannot listen on {host}:{port}: {err.strerror or err}", err=True)
        raise typer.Exit(1) from None

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ready = {"rest": running.rest, "ws": running.ws, "keys": running.keys}
    print(json.dumps(ready), flush=True)
    # Waiting in short slices keeps the main thread responsive to signals.
    while not stop.wait(0.5):
        pass
    running.stop()


_FLAGS = {
    "lateExecMs": "--late-exec-ms",
    "lateExecShare": "--late-exec-share",
    "cancelLagMs": "--cancel-lag-ms",
    "amendLagMs": "--amend-lag-ms",
    "readLagMs": "--read-lag-ms",
}


def _realism_settings(preset: bool, flags: dict[str, object]) -> dict[str, object]:
    """The preset (if asked) with the flags given on top; a bad value exits 2 naming the flag."""
    from okxbot.sim.realism import PRESET, Realism

    settings: dict[str, object] = dict(PRESET) if preset else {}
    for name, value in flags.items():
        if value is None:
            continue
        try:
            Realism().updated({name: value})
        except ValueError as err:
            typer.echo(f"error: {_FLAGS[name]}: {err}", err=True)
            raise typer.Exit(2) from None
        settings[name] = value
    return settings


def _read_config(path: Path) -> dict[str, object]:
    import json
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ValueError(f"cannot read the file ({err.strerror})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {err}") from None
    if not isinstance(data, dict):
        raise ValueError("the file must hold a table/object of settings")
    return data
