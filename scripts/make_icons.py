"""Draw the app's icons (static/icons/*.png) with the standard library only.

A flat glyph: a white check mark on the brand's blue, on a rounded square for the
ordinary icons and full-bleed for the maskable one (its glyph inside the 80% safe
zone). Run `python scripts/make_icons.py` and commit the PNGs.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
BRAND = (0x0B, 0x5C, 0xAD)  # --brand in app.css, the theme colour
WHITE = (0xFF, 0xFF, 0xFF)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGBA PNG of the given rows (4 bytes a pixel)."""
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _distance_to_segment(
    px: float, py: float, a: tuple[float, float], b: tuple[float, float]
) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    cx, cy = ax + t * dx, ay + t * dy
    return float(((px - cx) ** 2 + (py - cy) ** 2) ** 0.5)


def draw(size: int, *, maskable: bool) -> bytes:
    # The check mark, in units of the icon's side; smaller on a maskable icon.
    scale = 0.6 if maskable else 0.75
    offset = (1 - scale) / 2
    points = [(0.2, 0.52), (0.42, 0.72), (0.8, 0.3)]
    mark = [(offset + x * scale, offset + y * scale) for x, y in points]
    stroke = 0.09 * scale / 0.75
    radius = 0.0 if maskable else 0.2  # the rounded square's corner
    rows = []
    for j in range(size):
        row = bytearray()
        for i in range(size):
            x, y = (i + 0.5) / size, (j + 0.5) / size
            # Inside the rounded square?
            cx = min(max(x, radius), 1 - radius)
            cy = min(max(y, radius), 1 - radius)
            inside = radius == 0 or ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5 <= radius
            if not inside:
                row += b"\x00\x00\x00\x00"
                continue
            d = min(
                _distance_to_segment(x, y, mark[0], mark[1]),
                _distance_to_segment(x, y, mark[1], mark[2]),
            )
            row += bytes((*(WHITE if d <= stroke / 2 else BRAND), 0xFF))
        rows.append(bytes(row))
    return png(size, size, rows)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(draw(size, maskable=False))
        (OUT / f"maskable-{size}.png").write_bytes(draw(size, maskable=True))


if __name__ == "__main__":
    main()
