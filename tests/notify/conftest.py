"""The push channels' own fixture: a sender that retries fast. The receiver standing in for the
push services (``receiver``) is the suite's (tests/conftest.py): the commands' and the window's
tests use it too."""

from __future__ import annotations

import pytest

import notify.sender as sender_mod


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after 50 ms, at most 200 ms apart: three failures in well under a second."""
    monkeypatch.setattr(sender_mod, "BACKOFF_FIRST_S", 0.05)
    monkeypatch.setattr(sender_mod, "BACKOFF_MAX_S", 0.2)
