"""A child process that writes the vault file and the journal in a loop until it is killed.

After each write returns it prints `vault N` / `journal N` (flushed), so that the parent, having sent
SIGKILL at a random moment, knows which writes were complete and must have survived.
Usage: python -m reliability.writer HOME_DIR JOURNAL_URL
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from okxbot.trading.journal import Journal
from okxbot.vault.file_backend import VaultFile
from okxbot.vault.secret import Credentials, Secret
from okxbot.vault.store import MasterPassword


def credentials_for(n: int) -> Credentials:
    return Credentials(
        Secret(f"key-{n:08d}-abcdef"), Secret(f"secret-{n:08d}-ABCDEF"), Secret(f"Pass-{n:08d}!")
    )


def main() -> None:
    home, journal_url = Path(sys.argv[1]), sys.argv[2]
    vault = VaultFile(home, MasterPassword())
    journal = Journal(journal_url, "writer")
    start = len(journal.orders())
    n = 0
    while True:
        n += 1
        vault.put("main", credentials_for(n))
        print(f"vault {n}", flush=True)
        cid = f"w{start + n}x{n}"
        journal.record_intent(cid, "BTC/USDT", "buy", Decimal("0.001"), Decimal("20000"), state="sent")
        journal.transition(cid, "live", order_id=str(1000 + n))
        print(f"journal {cid}", flush=True)


if __name__ == "__main__":
    main()
