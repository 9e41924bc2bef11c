"""Number formatting and the no-display check: no Qt window needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import formatting as fmt
from tests.paths import REPO_ROOT
from ui.app import NO_DISPLAY_MESSAGE, display_missing


def test_prices_have_separators_and_sensible_decimals() -> None:
    assert fmt.price(98450.123) == "98,450.1"
    assert fmt.price(3412.554) == "3,412.55"
    assert fmt.price(0.523101) == "0.5231"
    assert fmt.price(0.00001234) == "0.00001234"
    assert fmt.price(-1.5) == "−1.500"
    assert fmt.price(None) == "—"


def test_percentages_are_signed_with_a_real_minus() -> None:
    assert fmt.pct(-0.0734) == "−7.3 %"
    assert fmt.pct(0.05, decimals=2) == "+5.00 %"
    assert fmt.pct(0.181, signed=False) == "18.1 %"
    assert fmt.pct(float("inf")) == "∞"


def test_money_and_ages() -> None:
    assert fmt.money(-7819.244, signed=True) == "−7,819.24"
    assert fmt.money(1234567.8) == "1,234,567.80"
    assert fmt.age(4_000) == "4 s"
    assert fmt.age(180_000) == "3 min"


def test_display_check() -> None:
    assert display_missing({}, "linux")
    assert not display_missing({"DISPLAY": ":0"}, "linux")
    assert not display_missing({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not display_missing({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not display_missing({}, "darwin")


def test_main_without_a_display_says_so_and_exits_2(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["CASCADE_DATA_DIR"] = str(tmp_path)
    if not sys.platform.startswith("linux"):
        return
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py")],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout.strip() == NO_DISPLAY_MESSAGE
    assert "QT_QPA_PLATFORM=offscreen" in done.stdout and "python main.py watch" in done.stdout
