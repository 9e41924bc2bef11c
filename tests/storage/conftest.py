"""The storage layer's shared fixtures (the empty database itself, ``db``, is the suite's:
tests/conftest.py)."""

from __future__ import annotations

import pytest

from storage.database import Database
from storage.records import AccountRecord


@pytest.fixture
def account(db: Database) -> AccountRecord:
    """A stored Bybit account with a secret name, in ``db``."""
    return db.accounts.add(AccountRecord("bybit", "main", secret_name="bybit-main"))
