"""What the About box and ``--version`` say: the version, the licence, and where every data set
the app ships comes from. Stdlib only (no Qt), so the commands can use it too."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import metadata

from resources import ROOT, calendar_files, load_json

DISTRIBUTION = "cascade-watch"
APP_NAME = "Cascade Watch"
LICENCE = "MIT"
COPYRIGHT = "Copyright (c) 2026 Cascade Watch contributors"
CHECKOUT = ROOT.parent
"""The source checkout when the app runs from one (pyproject.toml and LICENSE beside it)."""


@cache
def version() -> str:
    """The installed distribution's version (pip, pipx and the frozen build all carry its
    metadata); from a checkout that was never installed, pyproject.toml's."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    import tomllib

    try:
        with (CHECKOUT / "pyproject.toml").open("rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def version_line() -> str:
    """``cascade-watch 0.1.0 (MIT licence)``: what ``--version`` prints."""
    return f"{DISTRIBUTION} {version()} ({LICENCE} licence)"


@cache
def licence_text() -> str:
    """The full licence: the LICENSE file of the installed distribution or of the checkout."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
        for file in dist.files or ():
            if file.name in ("LICENSE", "LICENSE.txt"):
                return file.read_text(encoding="utf-8")
    except metadata.PackageNotFoundError:
        pass
    path = CHECKOUT / "LICENSE"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return f"{LICENCE} licence. {COPYRIGHT}."


@dataclass(frozen=True, slots=True)
class DataSource:
    """One shipped data set: its file, what it holds, where it comes from and how current."""

    file: str
    what: str
    source: str
    as_of: str = ""


def _sources_in(obj: object) -> list[str]:
    """Every text under a "source" or "sources" key, at any depth, in file order."""
    found: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += _texts(value) if key in ("source", "sources") else _sources_in(value)
    elif isinstance(obj, list):
        for value in obj:
            found += _sources_in(value)
    return found


def _texts(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _texts(v)]
    if isinstance(obj, list):
        return [t for v in obj for t in _texts(v)]
    return []


def _first_text(doc: dict[str, object], *keys: str) -> str:
    return next((str(doc[k]) for k in keys if isinstance(doc.get(k), str)), "")


def data_sources() -> tuple[DataSource, ...]:
    """Every shipped data set with its source: the event calendars, each exchange's built-in
    tiers (linear and inverse), every other data file, each demo scenario and tape."""
    out: list[DataSource] = []
    for name in calendar_files():
        doc = load_json(name)
        kinds = sorted({str(e.get("kind", "")) for e in doc["events"]})
        sources = "; ".join(str(v) for v in doc.get("sources", {}).values())
        missing = str(doc.get("missing", ""))
        out.append(
            DataSource(
                name,
                f"event calendar: {len(doc['events'])} events ({', '.join(kinds)})",
                sources + (f". Not shipped: {missing}" if missing else ""),
                f"retrieved {doc.get('retrieved', '?')}",
            )
        )
    tiers = load_json("tiers.json")
    for margin, table_set in (("linear", tiers), ("inverse", tiers.get("inverse", {}))):
        for exchange, table in table_set.get("exchanges", {}).items():
            out.append(
                DataSource(
                    "tiers.json",
                    f"maintenance tiers, {exchange} {margin} "
                    f"({', '.join(sorted(table.get('symbols', {})))})",
                    str(table.get("source", "")),
                    str(table.get("as_of", "")),
                )
            )
    shown = {*calendar_files(), "tiers.json"}
    for path in sorted(ROOT.glob("*.json")):
        if path.name in shown:
            continue
        doc = load_json(path.name)
        out.append(
            DataSource(
                path.name,
                _first_text(doc, "what", "description", "about") or path.stem,
                " ".join(_sources_in(doc)),
                _first_text(doc, "fitted", "through_utc", "retrieved", "as_of"),
            )
        )
    for path in sorted((ROOT / "scenarios").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        kind = "liquidation tape" if path.name.endswith(".liquidations.json") else "scenario"
        title = _first_text(doc, "title", "description") or path.stem
        out.append(
            DataSource(
                f"scenarios/{path.name}", f"demo {kind}: {title}", " ".join(_sources_in(doc))
            )
        )
    return tuple(out)
