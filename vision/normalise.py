"""Normalisation shared by specimens and query photos: flat paper, ink kept, fixed square input.

Dividing by a smooth estimate of the paper removes lighting gradients, shadows and page
tint, so a phone photo and a flatbed scan of one impression look alike to the model.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

WORK_SIDE = 512


def resize_max(rgb: NDArray[np.uint8], side: int) -> tuple[NDArray[np.uint8], float]:
    """Shrink so the longer side is at most `side`; return the image and the scale applied."""
    scale = side / max(rgb.shape[:2])
    if scale >= 1:
        return rgb, 1.0
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8), scale


def paper_estimate(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The paper without ink: a closing removes dark strokes thinner than ~1/30 of the image.

    Paper varies slowly, so it is estimated at a quarter of the resolution and enlarged.
    """
    height, width = rgb.shape[:2]
    small, _ = resize_max(rgb, max(32, max(height, width) // 4))
    k = max(3, (max(small.shape[:2]) // 30) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    smooth = cv2.blur(closed, (k, k))
    full = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.maximum(np.asarray(full, dtype=np.float32), 1.0)


def flatten(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Image divided by its paper estimate: paper near 1.0 everywhere, ink below it; in [0, 1]."""
    flat = rgb.astype(np.float32) / paper_estimate(rgb)
    return np.clip(flat, 0.0, 1.0)


def to_bytes(values: NDArray[np.float32]) -> NDArray[np.uint8]:
    """Values in [0, 1] (ink, flattened colours) as 0..255 bytes, for OpenCV and Tesseract."""
    return np.asarray(np.clip(values * 255, 0, 255), dtype=np.uint8)


def ink_map(flat: NDArray[np.float32]) -> NDArray[np.float32]:
    """How much ink each pixel holds, in [0, 1]: darkness plus colour against the paper."""
    red, green, blue = cv2.split(flat)
    darkness = 1.0 - (red + green + blue) / 3.0
    colour = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    return np.clip(darkness * 1.4 + colour * 0.8, 0.0, 1.0)


def to_square(
    rgb: NDArray[np.uint8] | NDArray[np.float32], side: int, fill: float
) -> NDArray[np.float32]:
    """Pad to a square with `fill` (paper) and resize to side x side."""
    h, w = rgb.shape[:2]
    edge = max(h, w)
    canvas = np.full((edge, edge, 3), fill, dtype=np.float32)
    y, x = (edge - h) // 2, (edge - w) // 2
    canvas[y : y + h, x : x + w] = rgb
    interpolation = cv2.INTER_AREA if edge > side else cv2.INTER_LINEAR
    return np.asarray(
        cv2.resize(canvas, (side, side), interpolation=interpolation), dtype=np.float32
    )


def model_input(crop: NDArray[np.uint8], side: int) -> NDArray[np.float32]:
    """The square, flattened RGB in [0, 1] that the embedder sees for a stamp crop."""
    small, _ = resize_max(crop, max(side * 2, 64))
    return to_square(flatten(small), side, 1.0)


def byte_percentile(image: NDArray[np.uint8], q: float) -> float:
    """`np.percentile(image, q)` of a byte image (linear interpolation, the same value), from
    its histogram: a quarter of the time of numpy's partial sort, in which verification
    spent a tenth of a search."""
    if image.size < 1 << 24:  # OpenCV counts in float32: exact to 2**24
        counts = np.asarray(cv2.calcHist([image], [0], None, [256], [0, 256]), np.int64).ravel()
    else:
        counts = np.bincount(image.ravel(), minlength=256)
    below = np.cumsum(counts)  # below[v]: pixels at or under v
    place = (below[-1] - 1) * (q / 100)
    low = int(np.floor(place))
    fraction = place - low
    first = float(np.searchsorted(below, low, side="right"))
    second = float(np.searchsorted(below, min(low + 1, below[-1] - 1), side="right"))
    step = second - first
    # numpy's interpolation, to the last bit
    return second - step * (1 - fraction) if fraction >= 0.5 else first + step * fraction
