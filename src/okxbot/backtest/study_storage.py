"""Where an `okxbot optimize` study lives, so that every worker adds its trials to the same study.

* `--storage postgresql://USER@HOST/DB` (or any SQLAlchemy URL: sqlite:///PATH, mysql://...): an
  Optuna RDB study. Workers on many machines that run the same command with the same URL join it.
  `postgresql://` is read as `postgresql+psycopg://` (okxbot ships psycopg 3, not psycopg2). A
  heartbeat marks the running trials of a worker that died as failed, so none stays "running".
* `--storage journal:PATH` (or a PATH ending in .journal): Optuna's journal file, for processes on
  one machine (or a shared file system with working locks).
* No --storage: one process keeps the study in memory; `--jobs N` (N > 1) puts it in a journal file
  in a temporary directory for the run (deleted afterwards: pass --storage to keep it).
"""

from __future__ import annotations

from typing import Any

from okxbot.backtest.search_space import SearchSpaceError

HEARTBEAT_S = 20
GRACE_S = 60


def normalize(url: str) -> str:
    """The storage spec workers open: an RDB URL with an installed driver, or journal:PATH."""
    text = url.strip()
    if text.startswith("journal:"):
        return text
    if text.endswith(".journal") and "://" not in text:
        return f"journal:{text}"
    if "://" not in text:
        raise SearchSpaceError(
            f"--storage {text!r} is not a database URL",
            "write --storage postgresql://USER@HOST/DB, sqlite:///study.db or journal:study.journal",
        )
    scheme = text.split("://", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if scheme == "postgresql+psycopg2":
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def shown(spec: str) -> str:
    """The storage as printed: the password hidden."""
    if spec.startswith("journal:"):
        return spec
    from sqlalchemy.engine import make_url

    try:
        return make_url(spec).render_as_string(hide_password=True)
    except Exception:
        return spec.split("://", 1)[0] + "://***"


def open_storage(spec: str | None) -> Any:
    """An Optuna storage object for a spec from `normalize` (None: in memory)."""
    import optuna

    if spec is None:
        return optuna.storages.InMemoryStorage()
    if spec.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(spec.removeprefix("journal:")))
    for attempt in range(3):
        try:
            return _rdb(spec)
        except Exception as err:
            # Workers starting together race to create Optuna's tables; the loser finds them made by
            # the winner (whose CREATE it waited for), so opening again succeeds.
            if attempt < 2 and "already exists" in str(err):
                continue
            _refuse(spec, err)
    raise AssertionError("unreachable")


def _rdb(spec: str) -> Any:
    import warnings

    import optuna

    with warnings.catch_warnings():
        # the heartbeat is marked experimental since Optuna 2.9; it is what frees a dead worker's trials
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            spec,
            engine_kwargs={"pool_pre_ping": True},
            heartbeat_interval=HEARTBEAT_S,
            grace_period=GRACE_S,
        )


def _refuse(spec: str, err: Exception) -> None:
    if isinstance(err, ImportError):
        raise SearchSpaceError(
            f"--storage {shown(spec)}: its database driver is not installed ({err})",
            "use postgresql://... (psycopg is installed) or sqlite:///PATH",
        ) from None
    raise SearchSpaceError(  # connection refused, bad credentials, unknown database ...
        f"--storage {shown(spec)}: cannot open the study database ({type(err).__name__}: {err})",
        "check the URL, that the database server runs and accepts this user",
    ) from None
