"""`python -m reliability [--quick] [--section NAME ...]`: run the suite, print one table.

Exit status 1 when any count that must be zero is not (or a section could not complete), else 0.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from reliability.checks import Check, Sizes, guarded

SECTIONS = (
    "faults",
    "crashes",
    "swaps",
    "revoked key",
    "bad input",
    "hostile responses",
    "leaks",
    "vault and journal files",
    "access",
)


def _section(name: str) -> Callable[..., list[Check]]:
    from reliability import access, badinput, crashes, faults, hostile, leaks, revoked, swaps, vault

    return {
        "faults": faults.run,
        "crashes": crashes.run,
        "swaps": swaps.run,
        "revoked key": revoked.run,
        "bad input": badinput.run,
        "hostile responses": hostile.run,
        "leaks": leaks.run,
        "vault and journal files": vault.run,
        "access": access.run,
    }[name]


def run_sections(names: list[str], sizes: Sizes) -> list[Check]:
    """Run the named sections against one simulator (each section uses its own keys and accounts)."""
    from okxbot.sim.server import start_sim

    rows: list[Check] = []
    with start_sim(host="127.0.0.1", port=0, seed=7) as sim:
        for name in names:
            run = _section(name)
            rows += guarded(name, lambda run=run: run(sim, sizes))
    return rows


def render(rows: list[Check], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("section")
    table.add_column("check")
    table.add_column("count", justify="right")
    table.add_column("must be 0?", justify="center")
    table.add_column("result")
    previous = None
    for row in rows:
        check = row.check if not row.detail else f"{row.check}\n[dim]{row.detail[:300]}[/]"
        result = "[green]ok[/]" if row.ok and row.must_be_zero else "[bold red]FAIL[/]" if not row.ok else "-"
        table.add_row(
            row.section if row.section != previous else "",
            check,
            str(row.count),
            "yes" if row.must_be_zero else "",
            result,
            end_section=False,
        )
        previous = row.section
    return table


def markdown(rows: list[Check], title: str) -> str:
    """The same table as Markdown (for the README)."""
    lines = [f"**{title}**", "", "| section | check | count | must be 0? | result |", "|---|---|--:|:-:|---|"]
    previous = None
    for row in rows:
        check = row.check.replace("|", "/")
        result = "ok" if row.ok and row.must_be_zero else "**FAIL**" if not row.ok else "-"
        section = row.section if row.section != previous else ""
        lines.append(
            f"| {section} | {check} | {row.count} | {'yes' if row.must_be_zero else ''} | {result} |"
        )
        previous = row.section
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes (what `make test` runs)")
    parser.add_argument(
        "--section", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    parser.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the table as Markdown to FILE"
    )
    args = parser.parse_args(argv)
    sizes = Sizes.of(args.quick)
    # okxbot's warnings about the faults being injected belong in a file, not across the table
    log_path = Path(tempfile.gettempdir()) / "okxbot-reliability.log"
    logging.basicConfig(
        filename=log_path,
        level=logging.WARNING,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    started = time.monotonic()
    rows = run_sections(list(args.section or SECTIONS), sizes)
    elapsed = time.monotonic() - started
    failed = [r for r in rows if not r.ok]
    console = Console(width=max(Console().width, 140))
    mode = "quick" if args.quick else "full"
    title = f"okxbot reliability and security ({mode} run, {elapsed:.0f} s)"
    console.print(render(rows, title))
    if args.markdown is not None:
        args.markdown.write_text(markdown(rows, title))
    if failed:
        console.print(f"[bold red]{len(failed)} count(s) that must be zero are not[/] (log: {log_path})")
        return 1
    console.print(f"[green]every count that must be zero is zero[/] (log: {log_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
