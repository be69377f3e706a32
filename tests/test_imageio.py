"""Safe decoding of what users upload."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.conftest import encode, stamp_image
from vision.errors import BadImageError
from vision.imageio import ImageLimits, decode_image


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge bitmap (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    data = zlib.compress(row * 64, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [30_000, 9_000])
def test_a_bomb_is_refused_from_its_header(side: int) -> None:
    bomb = png_bomb(side, side)
    assert len(bomb) < 10_000
    with pytest.raises(BadImageError, match="megapixels"):
        decode_image(bomb)


def test_byte_limit() -> None:
    with pytest.raises(BadImageError, match="limit"):
        decode_image(encode(stamp_image()), ImageLimits(max_bytes=100))


@pytest.mark.parametrize("mode", ["CMYK", "P", "RGBA", "LA", "L", "I;16"])
def test_any_mode_becomes_rgb(mode: str) -> None:
    source = Image.fromarray(stamp_image())
    converted = source.convert("L").convert(mode) if mode == "I;16" else source.convert(mode)
    fmt = "TIFF" if mode in {"CMYK", "I;16"} else "PNG"
    decoded = decode_image(_save(converted, fmt))
    assert decoded.rgb.shape == (160, 160, 3) and decoded.rgb.dtype == np.uint8
    assert 100 < decoded.rgb.mean() < 255


def _save(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_transparent_pixels_become_white_paper() -> None:
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    decoded = decode_image(encode(rgba))
    assert decoded.rgb.min() == 255


def test_exif_orientation_is_applied() -> None:
    wide = Image.fromarray(np.zeros((20, 40, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    buffer = io.BytesIO()
    wide.save(buffer, format="JPEG", exif=exif)
    assert decode_image(buffer.getvalue()).rgb.shape[:2] == (40, 20)


def test_heic_phone_photos_decode() -> None:
    heic = _save(Image.fromarray(stamp_image()), "HEIF")
    decoded = decode_image(heic)
    assert decoded.content_type == "image/heif" and decoded.rgb.shape == (160, 160, 3)


@pytest.mark.parametrize(
    "payload", [b"GIF89a" + b"\x00" * 40, b"%PDF-1.4 not an image", b"\xff\xd8\xff"]
)
def test_non_images_and_damaged_headers(payload: bytes) -> None:
    with pytest.raises(BadImageError):
        decode_image(payload)
