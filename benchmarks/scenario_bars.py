"""Copy the real hourly candles a local-exchange scenario replays into its file.

    python benchmarks/scenario_bars.py NAME [--days-before 21] [--hours-after 24] [--data DIR]

For each symbol of resources/scenarios/NAME.json (BTC, ETH), the Binance USDⓈ-M perpetual's
hourly rows (../shared/data/binance-<sym>usdt-perp-1h.csv) from ``--days-before`` days before the
scenario's start to ``--hours-after`` hours after its end are written into the symbol's "bars",
with the file, its rows (1-based, the header being row 1) and the time span. Only those rows
are stored, never the data set. connectors/localexchange/scenario.py replays them.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.datafiles import SHARED_DATA, load_candles  # noqa: E402

HOUR_MS = 3_600_000
SCENARIOS = ROOT / "resources" / "scenarios"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--days-before", type=float, default=21.0)
    ap.add_argument("--hours-after", type=float, default=24.0)
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    args = ap.parse_args(argv)
    path = SCENARIOS / f"{args.name}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    start = int(datetime.fromisoformat(doc["start"].replace("Z", "+00:00")).timestamp() * 1000)
    end = start + int(float(doc["duration_hours"]) * HOUR_MS)
    lo = start - int(args.days_before * 24) * HOUR_MS
    hi = end + int(args.hours_after) * HOUR_MS
    for base, spec in doc["symbols"].items():
        name = f"binance-{base.lower()}usdt-perp-1h.csv"
        c = load_candles(args.data / name).candles
        a = int(np.searchsorted(c.ts_ms, lo))
        b = int(np.searchsorted(c.ts_ms, hi))
        if a >= b or c.ts_ms[a] != lo or np.any(np.diff(c.ts_ms[a:b]) != HOUR_MS):
            raise SystemExit(f"{name}: no gap-free hourly rows from {iso(lo)} to {iso(hi)}")
        rows = [
            [float(c.open[i]), float(c.high[i]), float(c.low[i]), float(c.close[i]),
             float(c.volume[i])]
            for i in range(a, b)
        ]  # fmt: skip
        spec["bars"] = {
            "source": (
                f"../shared/data/{name}, rows {a + 2}-{b + 1} ({iso(int(c.ts_ms[a]))} .. "
                f"{iso(int(c.ts_ms[b - 1]))}, one row an hour; header is row 1); data card "
                f"../shared/data/cards/{name[:-4]}.md"
            ),
            "start": iso(int(c.ts_ms[a])),
            "columns": ["open", "high", "low", "close", "volume"],
            "rows": rows,
        }
        print(f"{base}: {b - a} bars from {name} rows {a + 2}-{b + 1}")
    # One bar per line keeps the file readable and its diffs small.
    text = _compact_rows(json.dumps(doc, indent=1, ensure_ascii=False))
    path.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


def _compact_rows(text: str) -> str:
    """Collapse every innermost list of numbers onto one line."""
    import re

    return re.sub(
        r"\[\s+([-0-9.e,\s]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text
    )


if __name__ == "__main__":
    raise SystemExit(main())
