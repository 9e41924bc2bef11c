"""Render the icon's sizes from its SVG source: PNGs for Linux (hicolor) and the window and
tray, an .ico for Windows and an .icns for macOS.

    python packaging/make_icons.py

Qt's SVG renderer draws each PNG at its own size (no downscaling of one large bitmap), so the
16 px one is drawn at 16 px; Pillow packs the PNGs into the .ico and the .icns. Needs the
``build`` extra (Pillow). The outputs are committed; run this again after editing the SVG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SOURCE = ICONS / "cascade-watch.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return ICONS / f"cascade-watch-{size}.png"


def render_pngs() -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {SOURCE} is not a valid SVG")
    out = []
    for size in PNG_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = png_path(size)
        if not image.save(str(path)):
            raise SystemExit(f"make_icons: could not write {path}")
        out.append(path)
    del app
    return out


def pack_ico_icns() -> list[Path]:
    # Pillow is the build extra's; CI type-checks without it installed.
    from PIL import Image  # type: ignore[import-not-found, unused-ignore]

    largest = Image.open(png_path(max(PNG_SIZES)))
    ico = ICONS / "cascade-watch.ico"
    # Each size from its own rendering, not resampled from the largest.
    frames = [Image.open(png_path(s)) for s in ICO_SIZES]
    frames[-1].save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=frames)
    icns = ICONS / "cascade-watch.icns"
    largest.save(
        icns, format="ICNS", append_images=[Image.open(png_path(s)) for s in ICNS_SIZES[:-1]]
    )
    return [ico, icns]


def main() -> int:
    written = render_pngs() + pack_ico_icns()
    for path in written:
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
