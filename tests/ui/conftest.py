"""The desktop app's shared fixtures. The scripted demo feed (fast, deterministic, no network)
is tests/ui/ui_feed.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.localexchange import LocalExchange
from tests.ui.ui_feed import feed_backend
from ui.app import App


@pytest.fixture
def app(qapp: object, tmp_path: Path) -> Iterator[App]:
    """The app, started, its window fed by the scripted demo feed (3000× speed)."""
    a = App(tmp_path, speed=3000.0, crash_dialog=False, backend_factory=feed_backend())
    a.start()
    yield a
    a.shutdown()
    a.window.deleteLater()


@pytest.fixture(scope="module")
def local_exchange() -> Iterator[LocalExchange]:
    """The local exchange on 127.0.0.1 playing 2025-11-04 in real time, for the module."""
    lx = LocalExchange(scenario="2025-11-04", speed=1.0).start()
    yield lx
    lx.stop()
