"""The monitor's shared fixtures. Test doubles (a settable clock, an in-memory connector) are in
tests/monitor/monitor_fakes.py; the database itself, ``db``, is the suite's (tests/conftest.py)."""

from __future__ import annotations

import pytest

from storage.database import Database
from storage.records import AccountRecord


@pytest.fixture
def main_account(db: Database) -> AccountRecord:
    """The account the monitor's tests watch: binanceusdm "Main", stored first (id 1)."""
    return db.accounts.add(AccountRecord("binanceusdm", "Main"))
