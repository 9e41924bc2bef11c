"""What makes it a desktop app: the licence, the version, the icon in every size, the
freedesktop entry and AppStream metadata (checked by their own validators where installed),
the per-user launcher install, and the data sources the About box lists."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tomllib

import pytest

from resources import ICON_SIZES, calendar_files, icon_path
from resources.about import data_sources, licence_text, version
from tests.paths import REPO_ROOT

LINUX = REPO_ROOT / "packaging" / "linux"
APP_ID = "org.cascadewatch.CascadeWatch"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def test_the_licence_is_mit_as_pyproject_says():
    assert PYPROJECT["project"]["license"] == "MIT"
    text = licence_text()
    assert text.startswith("MIT License") and "Cascade Watch contributors" in text
    assert version() == PYPROJECT["project"]["version"]


def test_every_icon_size_exists_at_its_size():
    assert icon_path().read_text().startswith("<?xml")
    for size in ICON_SIZES:
        assert png_size(icon_path(size)) == (size, size)
    assert icon_path(20) == icon_path(24) and icon_path(10_000) == icon_path(512)
    icons = icon_path().parent
    assert (icons / "cascade-watch.ico").read_bytes()[:4] == b"\0\0\1\0"
    assert (icons / "cascade-watch.icns").read_bytes()[:4] == b"icns"


def test_the_gui_entry_point_is_declared_and_resolves():
    assert PYPROJECT["project"]["gui-scripts"] == {"cascade-watch-gui": "cli:gui"}
    assert PYPROJECT["project"]["scripts"] == {"cascade-watch": "main:main"}
    from cli import gui

    assert callable(gui)


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils absent")
def test_the_desktop_entry_validates():
    done = subprocess.run(
        ["desktop-file-validate", str(LINUX / f"{APP_ID}.desktop")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstream absent")
def test_the_appstream_metadata_validates():
    done = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(LINUX / f"{APP_ID}.metainfo.xml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout
    assert "E:" not in done.stdout and "W:" not in done.stdout, done.stdout


def test_the_launcher_install_puts_entry_metadata_and_icons_under_xdg_data_home(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    program = tmp_path / "cascade-watch" / "cascade-watch"  # where the frozen build was copied
    done = subprocess.run(
        ["sh", str(LINUX / "install-desktop-entry.sh"), str(program)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    entry = (tmp_path / "applications" / f"{APP_ID}.desktop").read_text()
    assert f"\nExec={program}\n" in entry
    assert (tmp_path / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    for size in ICON_SIZES:
        icon = tmp_path / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png_size(icon) == (size, size)
    refused = subprocess.run(
        ["sh", str(LINUX / "install-desktop-entry.sh"), str(tmp_path / "my apps" / "cw")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "without spaces" in refused.stderr


def test_every_shipped_data_set_is_listed_with_its_source():
    sources = data_sources()
    files = {s.file for s in sources}
    assert set(calendar_files()) <= files and "tiers.json" in files
    assert {f for f in files if f.startswith("scenarios/")} == {
        f"scenarios/{p.name}" for p in (REPO_ROOT / "resources" / "scenarios").glob("*.json")
    }
    for s in sources:
        assert s.source.strip(), s
    cal = next(s for s in sources if s.file == "events-2027.json")
    assert "federalreserve.gov" in cal.source and "Not shipped: US CPI" in cal.source
