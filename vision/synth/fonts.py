"""Fonts the renderer may use, all from packages on the machine (never downloaded)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
from PIL import ImageFont

MATPLOTLIB_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
SYSTEM_FONTS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto"))

# Latin faces a stamp maker might use; each is a file in matplotlib's bundled fonts.
LATIN_FACES: dict[str, str] = {
    "sans": "DejaVuSans.ttf",
    "sans_bold": "DejaVuSans-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif_bold": "DejaVuSerif-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono_bold": "DejaVuSansMono-Bold.ttf",
    "stix": "STIXGeneral.ttf",
    "stix_bold": "STIXGeneralBol.ttf",
    "cm_sans": "cmss10.ttf",
}

# Scripts of the region, from Debian's fonts-noto-core when installed.
SCRIPT_FACES: dict[str, str] = {
    "thai": "NotoSansThai-Bold.ttf",
    "khmer": "NotoSansKhmer-Bold.ttf",
    "lao": "NotoSansLao-Bold.ttf",
    "myanmar": "NotoSansMyanmar-Bold.ttf",
    "bengali": "NotoSansBengali-Bold.ttf",
    "sinhala": "NotoSansSinhala-Bold.ttf",
    "devanagari": "NotoSansDevanagari-Bold.ttf",
}


def _find(filename: str) -> Path | None:
    for folder in (MATPLOTLIB_FONTS, *SYSTEM_FONTS):
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=1)
def available_latin_faces() -> tuple[str, ...]:
    return tuple(name for name, filename in LATIN_FACES.items() if _find(filename))


@lru_cache(maxsize=1)
def available_scripts() -> tuple[str, ...]:
    return tuple(name for name, filename in SCRIPT_FACES.items() if _find(filename))


SIZE_STEP = 1 / 8  # fractional pixel sizes, in steps a line's width does not notice


def font(face: str, size_px: float) -> ImageFont.FreeTypeFont:
    """A loaded font by face name (Latin face or script name) and pixel size (fractional)."""
    return _font(face, max(4.0, round(size_px / SIZE_STEP) * SIZE_STEP))


@lru_cache(maxsize=1024)
def _font(face: str, size_px: float) -> ImageFont.FreeTypeFont:
    filename = LATIN_FACES.get(face) or SCRIPT_FACES.get(face)
    path = _find(filename) if filename else None
    if path is None:
        raise LookupError(f"font face {face!r} is not installed")
    return ImageFont.truetype(str(path), size=size_px)
