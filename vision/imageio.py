"""Safe image decoding: limits are checked from the header before any pixel is decoded."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from vision.errors import BadImageError

register_heif_opener()
ImageFile.LOAD_TRUNCATED_IMAGES = False

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "HEIF": "image/heif",
}
EXTENSIONS = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "BMP": ".bmp",
    "HEIF": ".heic",
}


@dataclass(frozen=True, kw_only=True)
class ImageLimits:
    max_bytes: int = 30 * 1024 * 1024
    max_pixels: int = 60_000_000
    max_side: int = 20_000


@dataclass(frozen=True, kw_only=True)
class DecodedImage:
    rgb: NDArray[np.uint8]
    format: str
    content_type: str
    extension: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def probe(data: bytes, limits: ImageLimits) -> Image.Image:
    """Open the header only and check type and size limits."""
    if not data:
        raise BadImageError("the file is empty")
    if len(data) > limits.max_bytes:
        raise BadImageError(
            f"the file is {len(data) / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.0f} MB"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(CONTENT_TYPES))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        limit = f"{limits.max_pixels / 1e6:.0f} megapixels"
        raise BadImageError(f"the image is larger than the limit of {limit} ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise BadImageError(
            "the file is not an image StampLib reads (JPEG, PNG, WebP, TIFF, BMP, HEIC)"
        ) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadImageError(f"the image header is damaged: {exc}") from exc
    width, height = image.size
    if width < 1 or height < 1:
        raise BadImageError("the image has no pixels")
    if width * height > limits.max_pixels or max(width, height) > limits.max_side:
        raise BadImageError(
            f"the image is {width} x {height} pixels; the limit is "
            f"{limits.max_pixels / 1e6:.0f} megapixels and {limits.max_side} pixels a side"
        )
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Any mode (CMYK, 16-bit, palette, alpha) to 8-bit RGB; transparency becomes white paper."""
    if image.mode in {"I;16", "I;16B", "I;16L", "I"}:
        array = np.asarray(image, dtype=np.float64)
        peak = max(float(array.max()), 1.0)
        scale = 255.0 / (65535.0 if peak > 255 else 255.0)
        image = Image.fromarray(np.clip(array * scale, 0, 255).astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in {"RGBA", "LA", "PA"}:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    return image.convert("RGB")


def decode_image(data: bytes, limits: ImageLimits | None = None) -> DecodedImage:
    """Decode bytes to an upright RGB array, or raise BadImageError with a reason for the user."""
    limits = limits or ImageLimits()
    image = probe(data, limits)
    image_format = image.format or "PNG"
    try:
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        rgb = np.asarray(to_rgb(upright), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BadImageError(f"the image is truncated or damaged: {exc}") from exc
    return DecodedImage(
        rgb=np.ascontiguousarray(rgb),
        format=image_format,
        content_type=CONTENT_TYPES[image_format],
        extension=EXTENSIONS[image_format],
    )


def encode_png(rgb: NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def encode_jpeg(rgb: NDArray[np.uint8], quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
