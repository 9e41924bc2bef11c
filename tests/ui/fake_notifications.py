"""A fake freedesktop notification service for tests: ``python -m tests.ui.fake_notifications
ADDRESS`` owns org.freedesktop.Notifications on that (private) bus, prints one JSON line per
Notify call (with each hint's D-Bus signature), and on a stdin line ``click ID`` emits
ActionInvoked(ID, "default") as a daemon does when the notice is clicked.

dbus-fast reads D-Bus signatures from the annotations, so they are strings like "s" and
"a{sv}" and this module cannot use postponed annotations.
"""
# ruff: noqa: F821, F722
# mypy: ignore-errors

import asyncio
import json
import sys
from typing import Any

from dbus_fast import Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method, signal

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class Notifications(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(NAME)
        self.count = 0

    @method()
    def Notify(
        self,
        app_name: "s",
        replaces_id: "u",
        app_icon: "s",
        summary: "s",
        body: "s",
        actions: "as",
        hints: "a{sv}",
        expire_timeout: "i",
    ) -> "u":
        self.count += 1
        record: dict[str, Any] = {
            "id": self.count,
            "app_name": app_name,
            "summary": summary,
            "body": body,
            "actions": list(actions),
            "hints": {k: [v.signature, _plain(v)] for k, v in hints.items()},
            "expire_timeout": expire_timeout,
        }
        print(json.dumps(record), flush=True)
        return self.count

    @method()
    def GetCapabilities(self) -> "as":
        return ["actions", "body"]

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["fake", "tests", "1.0", "1.2"]

    @method()
    def CloseNotification(self, notification_id: "u"):
        return None

    @signal()
    def ActionInvoked(self, notification_id: int, key: str) -> "us":
        return [notification_id, key]

    @signal()
    def NotificationClosed(self, notification_id: int, reason: int) -> "uu":
        return [notification_id, reason]


def _plain(v: Variant) -> Any:
    value = v.value
    return value.hex() if isinstance(value, bytes) else value


async def main(address: str) -> None:
    bus = await MessageBus(bus_address=address).connect()
    service = Notifications()
    bus.export(PATH, service)
    await bus.request_name(NAME)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        parts = line.split()
        if parts[:1] == ["click"]:
            service.ActionInvoked(int(parts[1]), "default")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
