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
) -> None:
    """Serve the simulator until Ctrl-C / SIGTERM.

    When it is ready it prints ONE JSON line: {"rest", "ws", "keys": [...]} with a live and a demo key
    (secrets included: they exist only in this simulator).
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
    try:
        running = start_sim(host=host, port=port, seed=seed, config=cfg)
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
