"""`make bench`: run every benchmark module under bench/ and print its table.

Each `bench/bench_*.py` exposes `main() -> None` that prints one Rich table. Benchmarks measure;
they never assert timings (tests do not either).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """`python -m bench [NAME ...] [--option ...]`: the options (from the first one starting with
    "-") go to the named benchmarks, e.g. `python -m bench serve --bots 5 --idle 3`."""
    split = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    wanted, options = set(argv[:split]), argv[split:]
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    chosen = [n for n in names if not wanted or n in wanted or n.removeprefix("bench_") in wanted]
    unknown = wanted - {n for n in names} - {n.removeprefix("bench_") for n in names}
    if unknown:
        print(f"unknown benchmark {sorted(unknown)}; known: {[n.removeprefix('bench_') for n in names]}")
        return 2
    modules = [importlib.import_module(f"bench.{name}") for name in chosen]
    if options:
        without = [m.__name__ for m in modules if not inspect.signature(m.main).parameters]
        if without:
            print(f"{', '.join(without)}: no options (run it without {' '.join(options)})")
            return 2
    for module in modules:
        if options:
            module.main(options)
        else:
            module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
