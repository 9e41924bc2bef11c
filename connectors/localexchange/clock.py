"""Scenario time: start + wall elapsed × speed, from an injectable wall clock.

Tests pass their own ``clock`` (any callable returning wall seconds) and move it by hand; the
server itself never calls ``time.time`` directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ScenarioClock:
    """Maps wall time to scenario time; supports speed changes, pause/resume and seeking."""

    def __init__(self, start_ms: int, speed: float = 1.0, clock: Callable[[], float] | None = None):
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self.start_ms = int(start_ms)
        self._speed = float(speed)
        self._paused = False
        # Scenario ms at the wall instant _anchor_wall; everything is measured from there.
        self._anchor_wall = self._clock()
        self._anchor_ms = float(start_ms)

    @property
    def speed(self) -> float:
        return self._speed

    def now_ms(self) -> int:
        with self._lock:
            return int(self._now_locked())

    def offset_s(self) -> float:
        """Seconds of scenario time since the scenario's start."""
        return (self.now_ms() - self.start_ms) / 1000.0

    def _now_locked(self) -> float:
        if self._paused:
            return self._anchor_ms
        return self._anchor_ms + (self._clock() - self._anchor_wall) * 1000.0 * self._speed

    def _rebase(self, scenario_ms: float) -> None:
        self._anchor_ms = scenario_ms
        self._anchor_wall = self._clock()

    def pause(self) -> None:
        with self._lock:
            if not self._paused:
                self._rebase(self._now_locked())
                self._paused = True

    def resume(self) -> None:
        with self._lock:
            if self._paused:
                self._rebase(self._anchor_ms)
                self._paused = False

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        with self._lock:
            self._rebase(self._now_locked())
            self._speed = float(speed)

    def seek(self, offset_s: float) -> None:
        """Jump to ``offset_s`` seconds after the scenario's start (negative: before it)."""
        with self._lock:
            self._rebase(self.start_ms + offset_s * 1000.0)
