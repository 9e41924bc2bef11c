"""Start at login, per platform, for the desktop app.

- Linux (and other freedesktop desktops): an XDG autostart entry,
  ``$XDG_CONFIG_HOME/autostart/cascade-watch.desktop`` (``~/.config`` by default).
- macOS: a LaunchAgent, ``~/Library/LaunchAgents/io.cascadewatch.app.plist`` with
  ``RunAtLoad``, loaded by launchd at the next login.
- Windows: the ``CascadeWatch`` value under
  ``HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

The command is the ``cascade-watch`` script when it is installed, else this Python running
main.py. Nothing here needs Qt; the settings dialog calls ``set_enabled``.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import shlex
import shutil
import sys
from pathlib import Path

DESKTOP_NAME = "cascade-watch.desktop"
LAUNCH_AGENT = "io.cascadewatch.app"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "CascadeWatch"


def launch_command() -> list[str]:
    script = shutil.which("cascade-watch")
    if script:
        return [script]
    python = Path(sys.executable)
    windowless = python.with_name("pythonw.exe")
    if sys.platform == "win32" and windowless.exists():
        python = windowless
    return [str(python), str(Path(__file__).resolve().parents[1] / "main.py")]


def entry_path(platform: str = sys.platform, home: Path | None = None) -> Path | None:
    """Where the login entry lives (None on Windows, where it is a registry value)."""
    home = home or Path.home()
    if platform == "darwin":
        return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT}.plist"
    if platform.startswith("win"):
        return None
    config = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config) / "autostart" / DESKTOP_NAME


def desktop_entry(command: list[str]) -> str:
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Name=Cascade Watch",
            "Comment=Warns before a liquidation",
            f"Exec={shlex.join(command)}",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            "",
        ]
    )


def launch_agent(command: list[str]) -> bytes:
    return plistlib.dumps({"Label": LAUNCH_AGENT, "ProgramArguments": command, "RunAtLoad": True})


def is_enabled(platform: str = sys.platform, home: Path | None = None) -> bool:
    path = entry_path(platform, home)
    if path is not None:
        return path.exists()
    return _windows_value() is not None


def set_enabled(
    enabled: bool,
    platform: str = sys.platform,
    home: Path | None = None,
    command: list[str] | None = None,
) -> Path | None:
    """Create or remove the login entry; returns its path (None on Windows)."""
    command = command or launch_command()
    path = entry_path(platform, home)
    if path is None:
        _set_windows(enabled, command)
        return None
    if not enabled:
        path.unlink(missing_ok=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if platform == "darwin":
        path.write_bytes(launch_agent(command))
    else:
        path.write_text(desktop_entry(command), encoding="utf-8")
    return path


def _windows_value() -> str | None:
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            return str(winreg.QueryValueEx(key, RUN_VALUE)[0])
    except OSError:
        return None


def _set_windows(enabled: bool, command: list[str]) -> None:
    if sys.platform != "win32":
        raise OSError("the Windows login entry can only be written on Windows")
    import subprocess
    import winreg

    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        if enabled:
            winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, subprocess.list2cmdline(command))
        else:
            with contextlib.suppress(FileNotFoundError):
                winreg.DeleteValue(key, RUN_VALUE)
