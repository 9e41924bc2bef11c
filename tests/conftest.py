"""Test configuration shared by the whole suite.

Qt must run headless in tests, so the platform is set here, before anything imports Qt,
and never by hand on the command line. No test may reach the internet: every look-up of a
host other than loopback fails, and fails the test.

Fixtures that cross layers live here (the database: storage's and the monitor's tests both
stand on it); each layer's own are in tests/<layer>/conftest.py.
"""

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.database import Database
from tests.feed_server import FeedServer
from tests.notify.push_receiver import PushReceiver

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The commands a test runs (in a subprocess too) log into a folder of the run's own, never the
# user's log folder.
os.environ.setdefault("CASCADE_LOG_DIR", tempfile.mkdtemp(prefix="cascade-watch-test-logs-"))

LOOPBACK = ("127.0.0.1", "localhost", b"127.0.0.1", "::1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The evaluations on real data (marked ``realdata``) run last, after the quick suite."""
    items.sort(key=lambda item: item.get_closest_marker("realdata") is not None)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse, and fail the test on, any attempt to resolve a host other than loopback (the
    connector would turn an exception raised here into a ConnectorError, so it is recorded)."""
    real = socket.getaddrinfo
    attempts: list[object] = []

    def guarded(host: object, *args: object, **kwargs: object) -> object:
        if host not in LOOPBACK:
            attempts.append(host)
            raise OSError(f"tests must not reach {host!r}")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield
    assert not attempts, f"a test tried to reach {attempts}"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """An empty database file of the current schema in the test's own folder; closed after."""
    database = Database.open(tmp_path / "cascade.db")
    yield database
    database.close()


@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    """A local HTTP receiver on 127.0.0.1 standing in for the push services: apprise's json://
    target (tests/notify/push_receiver.py)."""
    with PushReceiver() as r:
        yield r


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Rate limits and bans are shared by every connector of a process; a test's holds (often
    set on a fake clock) must not outlive it."""
    from connectors.ratelimit import RATE_LIMITS

    RATE_LIMITS.clear()
    yield
    RATE_LIMITS.clear()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A calendar feed on 127.0.0.1 serving tests/fixtures/release-calendar.ics (its status and
    body can be changed by the test); stopped after."""
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def quiet_desk(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test pops a notification up on the developer's desktop or plays a sound: the
    session bus is hidden (tests that need one start a private bus) and no sound player is
    looked for (the sound tests name their own)."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("xdg-runtime")))
    import notify.sound

    monkeypatch.setattr(notify.sound, "PLAYERS", {"linux": (), "darwin": (), "win32": ()})
