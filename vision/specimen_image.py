"""What the library keeps beside a specimen's original scan: a cropped, deskewed image and
a thumbnail. The original is never altered; these are derived from it and can be remade."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.imageio import encode_jpeg
from vision.localise import crop, specimen_box
from vision.normalise import flatten, ink_map, resize_max

THUMBNAIL_SIDE = 256
MAX_SKEW_DEG = 20.0  # beyond this the "skew" is more likely the design (a rotated stamp)
MIN_SKEW_DEG = 0.5
MARGIN = 0.04  # of the crop's size, kept around the impression


@dataclass(frozen=True)
class DerivedImages:
    normalised_jpeg: bytes  # high quality: for display and comparison; the original stays
    thumbnail_jpeg: bytes
    skew_deg: float


def skew_angle(ink: NDArray[np.float32] | NDArray[np.uint8]) -> float:
    """The rotation of the impression's outline, from the minimum-area rectangle of its ink
    (an ink map of the impression: 0..1 floats or 0..255 bytes)."""
    scale = 255.0 if ink.dtype == np.uint8 else 1.0
    points = cv2.findNonZero((ink > 0.35 * scale).astype(np.uint8))
    if points is None or len(points) < 50:
        return 0.0
    (_, _), (w, h), angle = cv2.minAreaRect(points)
    if w < h:  # OpenCV reports angles in [0, 90); fold to the smallest rotation
        angle -= 90.0
    angle = float(angle if angle > -45 else angle + 90)
    return angle if MIN_SKEW_DEG <= abs(angle) <= MAX_SKEW_DEG else 0.0


def deskew(rgb: NDArray[np.uint8], angle: float) -> NDArray[np.uint8]:
    if angle == 0.0:
        return rgb
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(height * sin + width * cos), int(height * cos + width * sin))
    matrix[0, 2] += size[0] / 2 - width / 2
    matrix[1, 2] += size[1] / 2 - height / 2
    paper = tuple(int(v) for v in np.median(rgb.reshape(-1, 3), axis=0))
    rotated = cv2.warpAffine(
        rgb, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=paper
    )
    return np.asarray(rotated, dtype=np.uint8)


def derive(
    rgb: NDArray[np.uint8],
    box: tuple[int, int, int, int] | None = None,
    ink: NDArray[np.uint8] | None = None,
) -> DerivedImages:
    """Crop to the impression (with a small margin), straighten it, and make a thumbnail.

    `ink` is the impression's ink map when search features were already computed from it.
    """
    if box is None:
        box = specimen_box(rgb)
    x, y, w, h = box
    pad = int(MARGIN * max(w, h))
    cropped = crop(rgb, (x - pad, y - pad, w + 2 * pad, h + 2 * pad))
    if ink is None:
        ink = np.asarray(ink_map(flatten(resize_max(cropped, 512)[0])) * 255, np.uint8)
    angle = skew_angle(ink)
    straight = deskew(cropped, angle)
    thumbnail, _ = resize_max(straight, THUMBNAIL_SIDE)
    return DerivedImages(
        normalised_jpeg=encode_jpeg(straight, quality=95),
        thumbnail_jpeg=encode_jpeg(thumbnail, quality=85),
        skew_deg=round(angle, 2),
    )
