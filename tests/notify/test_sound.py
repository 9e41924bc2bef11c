"""The warning sounds: two distinct bundled WAVs, played by the platform's player as its own
process, at the chosen volume; muted means no process at all."""

from __future__ import annotations

import array
import os
import shutil
import stat
import sys
import wave
from pathlib import Path

import pytest

import notify.sound
from alerts.vocabulary import Severity
from notify.sound import LINUX_PLAYERS, SoundPlayer, scaled_copy, sound_file


@pytest.fixture(autouse=True)
def players(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite empties the player list (no test plays a sound on a desk); here the real
    list is back, and each test puts stand-in players first."""
    monkeypatch.setattr(notify.sound, "PLAYERS", {"linux": LINUX_PLAYERS})


def peak(path: Path) -> int:
    with wave.open(str(path), "rb") as r:
        assert (r.getnchannels(), r.getsampwidth()) == (1, 2)
        assert 0.3 < r.getnframes() / r.getframerate() < 1.0
        samples = array.array("h", r.readframes(r.getnframes()))
    return max(abs(s) for s in samples)


def test_bundled_sounds_are_small_and_distinct() -> None:
    warn, crit = sound_file(Severity.WARNING), sound_file(Severity.CRITICAL)
    assert warn != crit and warn.read_bytes() != crit.read_bytes()
    assert warn.stat().st_size < 40_000 and crit.stat().st_size < 40_000
    assert peak(crit) > peak(warn) > 5_000


def test_volume_scales_the_samples(tmp_path: Path) -> None:
    source = sound_file(Severity.CRITICAL)
    half = scaled_copy(source, 50, tmp_path)
    assert half.parent == tmp_path
    assert abs(peak(half) - peak(source) / 2) <= 1
    assert scaled_copy(source, 100, tmp_path) == source


@pytest.mark.skipif(sys.platform.startswith("win"), reason="a shell-script player")
def test_the_platform_player_is_started_with_the_right_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in ``paplay`` on PATH records what it was asked to play."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "played.txt"
    fake = bindir / "paplay"
    fake.write_text(f'#!/bin/sh\ncp "$1" "{tmp_path}/copy-$$.wav"\necho "$1" >> "{log}"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    player = SoundPlayer(volume=40, platform="linux", cache_dir=tmp_path / "cache")
    assert player.player == str(fake)
    assert player.play(Severity.CRITICAL)
    assert player.wait() == 0
    assert player.play(Severity.WARNING)
    assert player.wait() == 0
    played = [Path(line) for line in log.read_text().split()]
    assert [p.name for p in played] == ["critical-40.wav", "warning-40.wav"]
    assert abs(peak(played[0]) - peak(sound_file(Severity.CRITICAL)) * 0.4) <= 1
    player.muted = True
    assert not player.play(Severity.CRITICAL)
    assert len(log.read_text().split()) == 2


@pytest.mark.skipif(sys.platform.startswith("win"), reason="shell-script players")
def test_a_failing_player_gives_way_to_the_next(tmp_path: Path) -> None:
    """paplay without a sound server exits non-zero: the next player is used from then on."""
    bad, good = tmp_path / "paplay", tmp_path / "aplay"
    bad.write_text("#!/bin/sh\nexit 1\n")
    good.write_text(f'#!/bin/sh\necho "$1" >> "{tmp_path}/played"\n')
    for f in (bad, good):
        f.chmod(f.stat().st_mode | stat.S_IXUSR)
    found = {"paplay": str(bad), "aplay": str(good)}
    player = SoundPlayer(platform="linux", which=found.get, cache_dir=tmp_path)
    assert player.player == str(bad)
    assert player.play(Severity.WARNING)
    assert player.wait() == 1
    assert player.player == str(good)
    assert player.play(Severity.WARNING)
    assert player.wait() == 0
    assert (tmp_path / "played").read_text().strip().endswith("warning-80.wav")


def test_no_player_is_said_once_and_nothing_runs(caplog: pytest.LogCaptureFixture) -> None:
    player = SoundPlayer(platform="linux", which=lambda _name: None)
    assert not player.play(Severity.CRITICAL)
    assert not player.play(Severity.CRITICAL)
    assert caplog.text.count("no sound player found") == 1


@pytest.mark.skipif(shutil.which("aplay") is None, reason="aplay (alsa-utils) is not installed")
@pytest.mark.parametrize("severity", [Severity.WARNING, Severity.CRITICAL])
def test_real_aplay_plays_the_file_to_the_null_device(severity: Severity) -> None:
    """ALSA's player reads the whole file and plays it to its null device (no sound card
    needed): the format is one a real player accepts."""
    import subprocess

    out = subprocess.run(
        ["aplay", "-D", "null", str(sound_file(severity))],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert out.returncode == 0, out.stderr
    assert "Signed 16 bit Little Endian, Rate 16000 Hz, Mono" in out.stderr
