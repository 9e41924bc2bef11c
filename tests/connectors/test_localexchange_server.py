"""The local exchange's HTTP side: a client that goes away mid-request is routine (a watch
stopping while a poll is under way), never socketserver's traceback on stderr."""

from __future__ import annotations

import logging

import pytest

from connectors.localexchange.server import LocalServer, serve


def server() -> LocalServer:
    return serve("127.0.0.1", 0, lambda *args: None)


@pytest.mark.parametrize("exc", [ConnectionResetError(104, "reset by peer"), BrokenPipeError()])
def test_a_client_gone_mid_request_is_one_debug_line(
    exc: OSError, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    srv = server()
    caplog.set_level(logging.DEBUG, logger="connectors.localexchange.server")
    try:
        try:
            raise exc
        except OSError:
            srv.handle_error(None, ("127.0.0.1", 50060))
    finally:
        srv.shutdown()
        srv.server_close()
    assert "Traceback" not in capfd.readouterr().err
    [record] = [r for r in caplog.records if r.name == "connectors.localexchange.server"]
    assert record.levelno == logging.DEBUG and "went away" in record.getMessage()


def test_any_other_failure_is_one_warning_line(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    srv = server()
    caplog.set_level(logging.INFO, logger="connectors.localexchange.server")
    try:
        try:
            raise ValueError("a handler bug")
        except ValueError:
            srv.handle_error(None, ("127.0.0.1", 50060))
    finally:
        srv.shutdown()
        srv.server_close()
    assert "Traceback" not in capfd.readouterr().err
    [record] = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert record.levelno == logging.WARNING and "a handler bug" in record.getMessage()
