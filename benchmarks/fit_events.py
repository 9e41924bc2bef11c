"""Size the scheduled events by the data: how far BTC and ETH went in the hours after past US
CPI releases and FOMC decisions (resources/event-moves.json).

    python benchmarks/fit_events.py [--data DIR] [--out FILE]

Release times (UTC, from US Eastern time with daylight saving) come from the official
calendars:
- CPI, 08:30 ET: the BLS release schedules, https://www.bls.gov/schedule/news_release/cpi.htm
  (current year), https://www.bls.gov/bls/news-release/cpi.htm (every past release) and, for the
  2025 lapse in appropriations, https://www.bls.gov/bls/2025-lapse-revised-release-dates.htm
  (September 2025 CPI on 24 October; no October 2025 CPI; November 2025 CPI on 18 December).
  Cross-checked against copies of those pages found with the project's search tool:
  inflationdata.com's table of 2019 release dates, the BLS release header of the March 2021
  CPI ("8:30 a.m. (ET) April 13, 2021"), the January 2021 CPI's date (February 10, 2021), and the
  2026 dates already shipped in resources/events-2026.json. The 2018 and 2020 dates follow the
  BLS schedules for those years; no second copy of them was found.
- FOMC, statement at 14:00 ET on the last day of each scheduled meeting: the Federal Reserve's
  calendars, https://www.federalreserve.gov/monetarypolicy/fomccalendars.htm (2020–2026) and
  https://www.federalreserve.gov/monetarypolicy/fomchistorical2018.htm, …2019.htm, with the
  Fed's own press release of the 2025–26 schedule (9 August 2024) and its 2017 release naming
  January 30–31, 2018. The unscheduled 2020 actions (3 and 15 March) are not scheduled events and
  are left out; the scheduled 17–18 March 2020 meeting was replaced by them.

For each release and each asset (BTC from the Binance BTCUSDT perpetual, else Bitstamp; ETH from
the ETHUSDT perpetual, else Binance spot): the hourly bar that holds the release, the close and
σ (risk.probability) of the bar before it, and the furthest move below and above that close
within 1 h and 4 h, in units of σ·√H. The walk-forward check below scores, release by release,
the touch probabilities of 1–5 % levels from the earlier releases against the ordinary 4 h
distribution, with a bootstrap interval.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.datafiles import SHARED_DATA, load_candles  # noqa: E402
from resources import move_model  # noqa: E402
from risk.probability import clean_bars, sigma_series  # noqa: E402
from risk.types import Candles  # noqa: E402

OUT = ROOT / "resources" / "event-moves.json"
HOUR_MS = 3_600_000
HOURS = (1.0, 4.0)

CPI = """
2018-01-12 2018-02-14 2018-03-13 2018-04-11 2018-05-10 2018-06-12 2018-07-12 2018-08-10
2018-09-13 2018-10-11 2018-11-14 2018-12-12
2019-01-11 2019-02-13 2019-03-12 2019-04-10 2019-05-10 2019-06-12 2019-07-11 2019-08-13
2019-09-12 2019-10-10 2019-11-13 2019-12-11
2020-01-14 2020-02-13 2020-03-11 2020-04-10 2020-05-12 2020-06-10 2020-07-14 2020-08-12
2020-09-11 2020-10-13 2020-11-12 2020-12-10
2021-01-13 2021-02-10 2021-03-10 2021-04-13 2021-05-12 2021-06-10 2021-07-13 2021-08-11
2021-09-14 2021-10-13 2021-11-10 2021-12-10
2022-01-12 2022-02-10
2025-07-15 2025-08-12 2025-09-11 2025-10-24 2025-12-18
2026-01-13 2026-02-13 2026-03-11 2026-04-10 2026-05-12
""".split()  # noqa: SIM905 (a block of dates reads better than a list)

FOMC = """
2018-01-31 2018-03-21 2018-05-02 2018-06-13 2018-08-01 2018-09-26 2018-11-08 2018-12-19
2019-01-30 2019-03-20 2019-05-01 2019-06-19 2019-07-31 2019-09-18 2019-10-30 2019-12-11
2020-01-29 2020-04-29 2020-06-10 2020-07-29 2020-09-16 2020-11-05 2020-12-16
2021-01-27 2021-03-17 2021-04-28 2021-06-16 2021-07-28 2021-09-22 2021-11-03 2021-12-15
2022-01-26
2025-07-30 2025-09-17 2025-10-29 2025-12-10
2026-01-28 2026-03-18 2026-04-29
""".split()  # noqa: SIM905 (a block of dates reads better than a list)

KINDS = {"cpi": (CPI, 8, 30), "fomc": (FOMC, 14, 0)}
ASSET_FILES = {
    "BTC": ("binance-btcusdt-perp-1h.csv", "bitstamp-btcusd-1h-2018-2022.csv"),
    "ETH": ("binance-ethusdt-perp-1h.csv", "binance-ethusdt-spot-1h.csv"),
}


def _us_dst(day: datetime) -> bool:
    """US daylight saving: from the second Sunday of March to the first Sunday of November."""
    march = datetime(day.year, 3, 8)
    start = march + timedelta(days=(6 - march.weekday()) % 7)
    nov = datetime(day.year, 11, 1)
    end = nov + timedelta(days=(6 - nov.weekday()) % 7)
    return start <= day < end


def release_ms(day: str, hour: int, minute: int) -> int:
    d = datetime.fromisoformat(day)
    offset = 4 if _us_dst(d) else 5
    t = d.replace(hour=hour, minute=minute, tzinfo=UTC) + timedelta(hours=offset)
    return int(t.timestamp() * 1000)


def moves_after(
    series: list[tuple[Candles, np.ndarray]], at_ms: int, hours: float
) -> tuple[float, float, int] | None:
    """(Z↓, Z↑, bar start) of the first series that holds the release's bar and the bars after."""
    bar = at_ms // HOUR_MS * HOUR_MS
    k = int(hours)
    for c, sig in series:
        i = int(np.searchsorted(c.ts_ms, bar))
        if i == 0 or i + k > len(c) or c.ts_ms[i] != bar:
            continue
        if c.ts_ms[i + k - 1] != bar + (k - 1) * HOUR_MS or not math.isfinite(sig[i - 1]):
            continue
        high, low = clean_bars(c.open, c.high, c.low, c.close)
        base = float(c.close[i - 1])
        scale = float(sig[i - 1]) * math.sqrt(hours)
        zd = -math.log(float(low[i : i + k].min()) / base) / scale
        zu = math.log(float(high[i : i + k].max()) / base) / scale
        return max(zd, 0.0), max(zu, 0.0), bar
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    loaded: dict[str, list[tuple[Candles, np.ndarray]]] = {}
    for asset, names in ASSET_FILES.items():
        loaded[asset] = []
        for name in names:
            c = load_candles(args.data / name).candles
            loaded[asset].append((c, sigma_series(c)))
    ordinary = move_model()
    doc: dict[str, object] = {
        "what": (
            "Past US CPI releases (08:30 ET) and FOMC decisions (14:00 ET): for each release and "
            "asset, the furthest move below (down) and above (up) the close of the bar before the "
            "release, within 'hours' from the release's bar, in units of sigma*sqrt(hours) "
            "(risk.probability). benchmarks/fit_events.py writes it; risk.probability.EventMoves "
            "reads it."
        ),
        "fitted": datetime.now(UTC).strftime("%Y-%m-%d"),
        "sources": {
            "cpi": [
                "https://www.bls.gov/schedule/news_release/cpi.htm",
                "https://www.bls.gov/bls/news-release/cpi.htm",
                "https://www.bls.gov/bls/2025-lapse-revised-release-dates.htm",
            ],
            "fomc": [
                "https://www.federalreserve.gov/monetarypolicy/fomccalendars.htm",
                "https://www.federalreserve.gov/monetarypolicy/fomchistorical2018.htm",
                "https://www.federalreserve.gov/monetarypolicy/fomchistorical2019.htm",
            ],
            "candles": [f"../shared/data/{n}" for names in ASSET_FILES.values() for n in names],
        },
        "notes": [
            "Unscheduled FOMC actions (2020-03-03, 2020-03-15) are not scheduled events: left out.",
            "October 2025 CPI was never published (2025 lapse in appropriations).",
        ],
        "kinds": {},
    }
    kinds: dict[str, object] = {}
    for kind, (days, hh, mm) in KINDS.items():
        times = [release_ms(d, hh, mm) for d in days]
        entry: dict[str, object] = {
            "releases_utc": [
                datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ") for t in times
            ]
        }
        windows = []
        for hours in HOURS:
            down: list[float] = []
            up: list[float] = []
            per_release: list[tuple[int, float, float]] = []
            for t in times:
                for asset in ASSET_FILES:
                    got = moves_after(loaded[asset], t, hours)
                    if got is not None:
                        down.append(got[0])
                        up.append(got[1])
                        per_release.append((t, got[0], got[1]))
            windows.append(
                {
                    "hours": hours,
                    "samples": len(down),
                    "down": sorted(round(x, 4) for x in down),
                    "up": sorted(round(x, 4) for x in up),
                }
            )
            if hours == 4.0:
                entry["check"] = walk_forward_check(per_release, ordinary)
        entry["windows"] = windows
        kinds[kind] = entry
        h4 = windows[-1]
        print(
            f"{kind}: {len(times)} releases, {h4['samples']} asset windows; "
            f"check {json.dumps(entry['check'])}"
        )
    doc["kinds"] = kinds
    text = json.dumps(doc, indent=1)
    text = re.sub(
        r"\[\s+([-0-9.e,\s]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text
    )
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


def walk_forward_check(rows: list[tuple[int, float, float]], ordinary: object) -> dict[str, object]:
    """Release by release (from the 20th on), P(touch 1, 2, 3, 5 % down or up within 4 h) at the
    σ before it, from the earlier releases' samples and from the ordinary 4 h distribution;
    Brier scores and a bootstrap 95 % interval of their difference (resampling releases)."""
    from risk.probability import EventMoves, MoveModel

    assert isinstance(ordinary, MoveModel)
    levels = (0.01, 0.02, 0.03, 0.05)
    rows = sorted(rows)
    errs_event: list[float] = []
    errs_ordinary: list[float] = []
    for j in range(20, len(rows)):
        earlier = rows[:j]
        # The σ at the release is not stored per row; score in z units directly: a level d
        # away at σ is z = d/(σ√4). Use the grid of z the levels give at a typical σ (0.6 %/h).
        sigma = 0.006
        ev = EventMoves(
            "x", 4.0, np.sort([r[1] for r in earlier]), np.sort([r[2] for r in earlier])
        )
        _, zd, zu = rows[j]
        e_err = o_err = 0.0
        for d in levels:
            z = d / (sigma * 2.0)
            for dist_z, is_down in ((zd, True), (zu, False)):
                y = float(dist_z >= z)
                p_e = ev.touch(sigma, log_down=d) if is_down else ev.touch(sigma, log_up=d)
                table = ordinary.down[0] if is_down else ordinary.up[0]
                p_o = float(table(z))
                e_err += (p_e - y) ** 2
                o_err += (p_o - y) ** 2
        errs_event.append(e_err / (2 * len(levels)))
        errs_ordinary.append(o_err / (2 * len(levels)))
    a, b = np.asarray(errs_event), np.asarray(errs_ordinary)
    if a.size == 0:
        return {"scored": 0}
    rng = np.random.default_rng(3)
    pick = rng.integers(0, a.size, (2000, a.size))
    diff = (a[pick] - b[pick]).mean(axis=1)
    return {
        "scored": int(a.size),
        "brier_event": round(float(a.mean()), 4),
        "brier_ordinary_4h": round(float(b.mean()), 4),
        "difference_ci95": [round(float(np.percentile(diff, q)), 4) for q in (2.5, 97.5)],
    }


if __name__ == "__main__":
    raise SystemExit(main())
