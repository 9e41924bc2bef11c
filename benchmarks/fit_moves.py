"""Fit the move distribution the app ships (resources/move-distribution.json).

    python benchmarks/fit_moves.py [--data DIR] [--out FILE] [--check]

Reads the candle files named in benchmarks.datafiles.FIT_FILES from ../shared/data (Bitstamp
BTC/USD 2018–22, the Binance BTCUSDT and ETHUSDT perpetuals 2019–22 and 2025–26), fits
risk.probability's survival tables on all of them pooled, and writes the JSON with each file's
first and last bar and its data card, and today's date. --check prints how far the shipped
file is from a fresh fit instead of writing.

The evaluation (benchmarks/eval_warnings.py) never uses this file: it refits walk-forward, on
windows that ended before each scored month.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.datafiles import FIT_FILES, SHARED_DATA, fmt_ts, load_candles  # noqa: E402
from risk.probability import MoveModel, fit_move_model  # noqa: E402

OUT = ROOT / "resources" / "move-distribution.json"


def compact_json(obj: object) -> str:
    """Indented JSON with every list of numbers on one line."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)
    return re.sub(
        r"\[\s+([-0-9.e,\s]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="compare with the shipped file")
    args = ap.parse_args(argv)
    files = [load_candles(args.data / name) for name in FIT_FILES]
    sources = [
        f"{f.name} ({fmt_ts(int(f.candles.ts_ms[0]), False)} .. "
        f"{fmt_ts(int(f.candles.ts_ms[-1]), False)}, {len(f.candles)} bars; data card "
        f"../shared/data/cards/{f.path.stem}.md)"
        for f in files
    ]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    model = fit_move_model(
        [f.candles for f in files],
        fitted=today,
        sources=sources,
        notes=(
            "Bad-print wicks (high > 1.5 x the bar's body top) are cut to the body: the ETHUSDT "
            "perpetual's 2020-03-13 02:00 high of 323.",
            "Windows that cross a gap in the timestamps (the withheld 2022-03 .. 2025-06) or "
            "start within 168 h of a series' start are left out.",
        ),
    )
    if args.check:
        shipped = MoveModel.from_dict(json.loads(args.out.read_text(encoding="utf-8")))
        z = np.linspace(0.0, 12.0, 121)
        for i, h in enumerate(model.horizons_h):
            for name, a, b in (
                ("down", model.down[i], shipped.down[i]),
                ("up", model.up[i], shipped.up[i]),
            ):
                gap = float(np.max(np.abs(a(z) - b(z))))
                print(f"{h:g} h {name}: largest difference in S(z) {gap:.5f}")
        return 0
    args.out.write_text(compact_json(model.to_dict()) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    for i, h in enumerate(model.horizons_h):
        for name, t in (("down", model.down[i]), ("up", model.up[i])):
            pts = ", ".join(f"S({z:g})={float(t(z)):.4f}" for z in (1, 2, 3, 5, 8))
            print(f"{h:g} h {name}: {t.count} windows; {pts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
