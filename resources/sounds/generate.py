"""Writes the two warning sounds beside this file (run once; the WAVs are committed).

    python -m resources.sounds.generate

WARNING: two soft 880 Hz chimes. CRITICAL: a fast high-low (1320 / 990 Hz) triplet played
twice, louder and harsher (a touch of the third harmonic). 16 kHz, 16-bit mono, about 0.6 s.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000


def _tone(freq: float, seconds: float, amp: float, harmonic: float = 0.0) -> list[float]:
    n = int(RATE * seconds)
    fade = max(1, int(RATE * 0.01))
    out = []
    for i in range(n):
        t = i / RATE
        env = min(1.0, i / fade, (n - i) / fade) * math.exp(-2.5 * t / seconds)
        s = math.sin(2 * math.pi * freq * t) + harmonic * math.sin(6 * math.pi * freq * t)
        out.append(amp * env * s / (1 + harmonic))
    return out


def _silence(seconds: float) -> list[float]:
    return [0.0] * int(RATE * seconds)


def warning() -> list[float]:
    return _tone(880, 0.16, 0.45) + _silence(0.08) + _tone(880, 0.22, 0.45)


def critical() -> list[float]:
    triplet: list[float] = []
    for f in (1320, 990, 1320):
        triplet += _tone(f, 0.08, 0.8, 0.3) + _silence(0.02)
    return triplet + _silence(0.06) + triplet


def write(path: Path, samples: list[float]) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1, min(1, s)) * 32767)) for s in samples))


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    write(here / "warning.wav", warning())
    write(here / "critical.wav", critical())
