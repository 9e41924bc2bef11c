"""Start at login: the XDG autostart entry on Linux, a LaunchAgent on macOS (written here to a
temporary home; launchd itself is not run)."""

from __future__ import annotations

import plistlib
import shlex
from pathlib import Path

import pytest

from ui import autostart


def test_linux_autostart_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    cmd = ["/opt/cw/bin/python", "/opt/cw app/main.py"]
    assert not autostart.is_enabled("linux", tmp_path)
    path = autostart.set_enabled(True, "linux", tmp_path, cmd)
    assert path == tmp_path / "cfg" / "autostart" / "cascade-watch.desktop"
    text = path.read_text()
    assert text.startswith("[Desktop Entry]\nType=Application\n")
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert shlex.split(exec_line[5:]) == cmd
    assert autostart.is_enabled("linux", tmp_path)
    autostart.set_enabled(False, "linux", tmp_path, cmd)
    assert not path.exists() and not autostart.is_enabled("linux", tmp_path)


def test_macos_launch_agent(tmp_path: Path) -> None:
    cmd = ["/usr/local/bin/cascade-watch"]
    path = autostart.set_enabled(True, "darwin", tmp_path, cmd)
    assert path == tmp_path / "Library" / "LaunchAgents" / "io.cascadewatch.app.plist"
    agent = plistlib.loads(path.read_bytes())
    assert agent == {"Label": "io.cascadewatch.app", "ProgramArguments": cmd, "RunAtLoad": True}
    autostart.set_enabled(False, "darwin", tmp_path, cmd)
    assert not path.exists()


def test_the_default_command_runs_this_app() -> None:
    cmd = autostart.launch_command()
    assert cmd[-1].endswith("main.py") or cmd[0].endswith("cascade-watch")
