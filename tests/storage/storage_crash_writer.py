"""Child process for the crash-safety test: writes snapshots (and prunes) in a loop and prints
the timestamp of each snapshot once its transaction has committed. The parent kills it.

    python -m tests.storage.storage_crash_writer DB_PATH START_TS SEED   (from the repo root)
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from storage.database import Database
from storage.records import AccountRecord
from storage.sample import ReportWalk


def main() -> None:
    path, start, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    db = Database.open(path)
    account_id = (
        db.accounts.all()[0].id
        if db.accounts.all()
        else db.accounts.add(AccountRecord("bybit", "crash")).id
    )
    assert account_id is not None
    walk = ReportWalk(8, seed=seed)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    ts = start
    while True:
        batch = rng.choice((1, 1, 1, 5))
        stamps = [ts + 2000 * i for i in range(batch)]
        db.snapshots.save_many((account_id, walk.next(), t) for t in stamps)
        out.write("".join(f"{t}\n" for t in stamps))
        out.flush()
        ts = stamps[-1] + 2000
        if rng.random() < 0.02:
            db.prune(ts, budget_ms=50)


if __name__ == "__main__":
    main()
