"""No leak: an account's secret, stored and used (a real poll against the local exchange with
a key it does not know, then a good poll), appears nowhere in the data directory — database,
WAL, log file, encrypted secret file — nor in the captured log records."""

from __future__ import annotations

import logging
import secrets as token_source
from pathlib import Path

import pytest

from connectors.credentials import Credentials
from storage.database import Database
from storage.export import export_snapshots, export_warnings
from storage.paths import database_path, ensure_data_dir
from storage.records import AccountRecord, WarningRecord, warning_key
from storage.sample import ReportWalk
from storage.secrets import SecretStore

T0 = 1_767_225_600_000


def scan(data_dir: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.name}: {n!r}" for n in needles if n in data]
    return found


@pytest.fixture
def debug_log(tmp_path: Path):
    data_dir = ensure_data_dir(tmp_path / "data")
    handler = logging.FileHandler(data_dir / "cascade.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield data_dir
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


def test_secret_bytes_appear_nowhere(debug_log: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = debug_log
    bad = Credentials(
        api_key="LEAKKEY" + token_source.token_hex(8),
        secret="LEAKSECRET" + token_source.token_hex(16),
        password="LEAKPASS" + token_source.token_hex(8),
    )
    store = SecretStore.open(data_dir, lambda is_new: "pass phrase", backend="file")
    db = Database.open(database_path(data_dir), secret_store=store)
    needles = [v.encode() for v in bad.secret_values()]

    import connectors.exchange as exchange_mod
    import connectors.localexchange as localexchange
    from connectors.errors import ConnectorError
    from risk.report import build_report

    with localexchange.LocalExchange(scenario="2025-11-04", port=0) as lx:
        account = db.accounts.add(
            AccountRecord("bybit", "leak", lx.base_url, secret_name="bybit-leak")
        )
        store.set("bybit-leak", bad)
        creds = store.get("bybit-leak")
        assert creds == bad
        connector = exchange_mod.ExchangeConnector("bybit", creds, api_url=lx.base_url)
        with pytest.raises(ConnectorError) as info:
            connector.fetch_account()
        logging.getLogger("test.leak").warning("poll failed: %s", info.value, exc_info=True)
        connector.close()
        symbols = ("BTC/USDT:USDT",)
        db.warnings.upsert(
            WarningRecord(
                warning_key("poll_failed", account.id, symbols),
                "poll_failed",
                "warning",
                str(info.value),
                account.id,
                symbols,
                T0,
                T0,
            )
        )
        good = exchange_mod.ExchangeConnector("bybit", lx.credentials("bybit"), api_url=lx.base_url)
        report = build_report(good.fetch_account())
        good.close()
        db.snapshots.save(account.id, report, T0)
    walk = ReportWalk(5)
    db.snapshots.save_many((account.id, walk.next(), T0 + i * 2000) for i in range(1, 50))
    export_warnings(db.warnings, data_dir / "warnings.csv")
    export_snapshots(db.accounts, db.snapshots, data_dir / "snapshots.csv")

    assert scan(data_dir, needles) == []
    assert (data_dir / "cascade.db-wal").exists()
    db.prune(T0 + 3_600_000, budget_ms=10_000)
    assert db.accounts.remove(account.id) == "bybit-leak"
    assert store.get("bybit-leak") is None
    db.close()
    assert scan(data_dir, needles) == []
    assert b"pass phrase" not in (data_dir / "secrets.enc").read_bytes()
    text = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    for n in needles:
        assert n.decode() not in text
    assert "poll failed" in (data_dir / "cascade.log").read_text(encoding="utf-8")
