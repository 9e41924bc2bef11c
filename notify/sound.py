"""The warning sounds, played by the platform's own player: no Qt Multimedia needed.

Two bundled WAVs (resources/sounds/, written by ``python -m resources.sounds.generate``):
a soft double chime for a WARNING, a harsh double triplet for a CRITICAL. The volume is
applied to the samples (a scaled copy is cached in the temp folder), so every player plays
it the same: ``paplay``, ``pw-play`` or ``aplay`` on Linux, ``afplay`` on macOS, ``winsound``
on Windows. Playing never blocks: the player runs as its own process (or winsound's async
mode) and is reaped on the next call.
"""

from __future__ import annotations

import array
import logging
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Callable
from pathlib import Path

from alerts.vocabulary import Severity
from resources import resource_path

logger = logging.getLogger(__name__)

SOUNDS = resource_path("sounds")
LINUX_PLAYERS = ("paplay", "pw-play", "aplay")
PLAYERS = {"linux": LINUX_PLAYERS, "darwin": ("afplay",), "win32": ("winsound",)}
"""Tried in order; the tests empty this so that no test makes a sound on a desk."""


def sound_file(severity: Severity) -> Path:
    return SOUNDS / ("critical.wav" if severity >= Severity.CRITICAL else "warning.wav")


def scaled_copy(source: Path, volume: int, cache_dir: Path) -> Path:
    """``source`` at ``volume`` % (0–100), written once into ``cache_dir``."""
    volume = max(0, min(100, int(volume)))
    if volume == 100:
        return source
    target = cache_dir / f"{source.stem}-{volume}.wav"
    if target.exists():
        return target
    with wave.open(str(source), "rb") as r:
        params = r.getparams()
        frames = r.readframes(r.getnframes())
    if params.sampwidth != 2:
        return source
    samples = array.array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    factor = volume / 100
    scaled = array.array("h", (int(s * factor) for s in samples))
    if sys.byteorder == "big":
        scaled.byteswap()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setparams(params)
        w.writeframes(scaled.tobytes())
    tmp.replace(target)
    return target


class SoundPlayer:
    """``play(severity)`` starts the sound and returns at once; False when muted, at zero
    volume, or when this system has no player (said once in the log)."""

    def __init__(
        self,
        *,
        volume: int = 80,
        muted: bool = False,
        platform: str = sys.platform,
        which: Callable[[str], str | None] = shutil.which,
        cache_dir: Path | None = None,
    ) -> None:
        self.volume = volume
        self.muted = muted
        self.platform = platform
        self._which = which
        self._cache = cache_dir or Path(tempfile.gettempdir()) / "cascade-watch-sounds"
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._warned = False
        self._players = self._find_players()

    @property
    def player(self) -> str:
        """The player in use ("" when none works here)."""
        return self._players[0] if self._players else ""

    def _find_players(self) -> list[str]:
        key = "win32" if self.platform.startswith("win") else self.platform
        names = PLAYERS.get(key, PLAYERS["linux"])
        if key == "win32":
            return list(names)
        return [p for p in (self._which(name) for name in names) if p]

    def _reap(self) -> bool:
        """True while the last sound still plays. A player that failed (paplay with no sound
        server) is dropped and the next one is used from then on."""
        if self._proc is None:
            return False
        code = self._proc.poll()
        if code is None:
            return True
        failed = self._proc.args[0] if isinstance(self._proc.args, list) else ""
        self._proc = None
        if code != 0 and self._players and self._players[0] == failed:
            self._players.pop(0)
            logger.info("sound player %s failed (exit %d); trying the next", failed, code)
        return False

    def play(self, severity: Severity) -> bool:
        if self.muted or self.volume <= 0:
            return False
        if not self.player:
            if not self._warned:
                self._warned = True
                logger.warning("no sound player found; warnings stay silent")
            return False
        try:
            path = scaled_copy(sound_file(severity), self.volume, self._cache)
        except (OSError, wave.Error) as exc:
            logger.warning("the warning sound could not be prepared: %s", type(exc).__name__)
            return False
        if self.player == "winsound":
            return self._play_winsound(path)
        with self._lock:
            if self._reap():
                return False
            try:
                self._proc = subprocess.Popen(
                    [self.player, str(path)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                logger.warning("the sound player failed to start: %s", exc.strerror)
                return False
        return True

    def wait(self, timeout: float = 5.0) -> int | None:
        """Wait for the sound now playing (tests); its exit code, or None."""
        with self._lock:
            proc = self._proc
        if proc is None:
            return None
        code = proc.wait(timeout)
        with self._lock:
            self._reap()
        return code

    @staticmethod
    def _play_winsound(path: Path) -> bool:
        if sys.platform != "win32":
            return False
        import winsound

        flags = winsound.SND_FILENAME | winsound.SND_ASYNC | winsound.SND_NODEFAULT
        try:
            winsound.PlaySound(str(path), flags)
        except RuntimeError:
            return False
        return True
