"""One running app per data folder: a second launch brings the first one's window forward.

The first launch holds the data folder's lock (``storage.lock.FolderLock``, the one ``watch``
holds too: the operating system's lock on ``cascade-watch.lock``, released when the process
ends however it ends) and listens on a ``QLocalServer`` named after the folder. A later launch
on the same folder fails to take the lock, connects to that server, sends one JSON line
(``{"command": "raise"}``, or ``"open"`` with a warning key) and exits; the first one emits
``sigCommand`` and the window comes forward. Two copies — two apps, or the app and a headless
``watch`` — never poll the same accounts or send the same warnings twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from storage.lock import FolderLock

log = logging.getLogger(__name__)

CONNECT_MS = 2000


def server_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode("utf-8")).hexdigest()[:16]
    return f"cascade-watch-{digest}"


class SingleInstance(QObject):
    """``acquire()`` once at start; on True call ``listen()`` after the QApplication exists;
    on False call ``send()`` and exit."""

    sigCommand = Signal(dict)

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.name = server_name(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FolderLock(self.data_dir, "app")
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """True when this process now owns the data folder."""
        return self._lock.acquire()

    def owner_pid(self) -> int | None:
        return self._lock.holder()[0]

    def owner(self) -> str:
        """Who holds the folder: ``the app (pid 1234)``, ``a watch (pid 1234)``."""
        return self._lock.describe_holder()

    def listen(self) -> bool:
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(self.name)
        if not server.listen(self.name):
            log.warning("single-instance server could not listen: %s", server.errorString())
            return False
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def _on_connection(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(sock.deleteLater)

    def _read(self, sock: QLocalSocket) -> None:
        if not sock.canReadLine():
            return
        raw = bytes(sock.readLine().data()).decode("utf-8", "replace")
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("command"), str):
            log.warning("ignored a malformed message from another launch")
            return
        sock.write(b"ok\n")
        sock.flush()
        log.info("a second launch asked this window to %s", message["command"])
        self.sigCommand.emit(message)

    def send(self, command: str = "raise", **fields: str) -> bool:
        """From a second launch: ask the running one; True when it answered."""
        sock = QLocalSocket()
        sock.connectToServer(self.name)
        if not sock.waitForConnected(CONNECT_MS):
            return False
        sock.write((json.dumps({"command": command, **fields}) + "\n").encode("utf-8"))
        sock.flush()
        ok = sock.waitForReadyRead(CONNECT_MS) and bytes(sock.readLine().data()).strip() == b"ok"
        sock.disconnectFromServer()
        return ok

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.release()
