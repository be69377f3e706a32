"""Local features of a stamp image, computed once per specimen and once per query.

What is kept of a specimen: keypoints and SIFT descriptors of its ink, its ink map at the
working size, which dense verification compares the aligned query against, and the boxes
of its variable lines, words and outline that the first result's checks use.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.normalise import flatten, ink_map, resize_max, to_bytes

WORK_SIDE = 448
SIFT_SIDE = 384
MAX_FEATURES = 500


@dataclass(frozen=True)
class Shape:
    """What the first result's checks (`vision.twins`) derive of a specimen alone: its
    words' letter boxes (`vision.fields.words`, straight or along its rim, letters of its
    variable lines left out; x0, y0, x1, y1 at the working size) and the convex hull of its
    blurred ink (None: no ink). A few kilobytes, where the label image and mask they give
    are a megabyte."""

    words: tuple[NDArray[np.int64], ...]
    hull: NDArray[np.int32] | None


@dataclass(frozen=True)
class StampFeatures:
    points: NDArray[np.float32]  # (N, 2) keypoint positions at the working size
    descriptors: NDArray[np.uint8]  # (N, 128) SIFT descriptors (integer-valued in OpenCV)
    ink: NDArray[np.uint8]  # (H, W) ink map at the working size, 0..255
    # boxes (x0, y0, x1, y1) of a specimen's variable lines (date, counter) at the working
    # size (`vision.fields`); None: not known
    variable: NDArray[np.int16] | None = None
    # a specimen's words and outline (`vision.twins.shape_of`), derived at ingestion
    # None: not stored (a query photo's features, or a specimen's written before)
    shape: Shape | None = None

    def to_bytes(self) -> bytes:
        # the ink map as a fast PNG: a tenth of the raw size at a tenth of zlib's time
        arrays: dict[str, NDArray[Any]] = {
            "points": self.points,
            "descriptors": self.descriptors,
            "ink_png": _png(self.ink),
        }
        if self.variable is not None:
            arrays["variable"] = self.variable
        if self.shape is not None:
            words = self.shape.words
            arrays["word_letters"] = np.asarray(
                np.concatenate(words) if words else np.zeros((0, 4)), np.int16
            )
            arrays["word_sizes"] = np.array([len(letters) for letters in words], np.int16)
            if self.shape.hull is not None:
                arrays["hull"] = self.shape.hull
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> StampFeatures:
        with np.load(io.BytesIO(data)) as arrays:
            if "ink_png" in arrays:
                ink = np.asarray(cv2.imdecode(arrays["ink_png"], cv2.IMREAD_GRAYSCALE), np.uint8)
            else:  # written before the ink map was kept as PNG
                ink = arrays["ink"]
            variable = arrays.get("variable")  # written since variable lines are read
            shape = None
            if "word_sizes" in arrays:  # written since shapes are stored
                ends = np.cumsum(arrays["word_sizes"])[:-1]
                letters = np.asarray(arrays["word_letters"], np.int64)
                words = tuple(np.split(letters, ends)) if len(arrays["word_sizes"]) else ()
                shape = Shape(words, arrays.get("hull"))
            return cls(
                points=arrays["points"],
                descriptors=arrays["descriptors"],
                ink=ink,
                variable=variable,
                shape=shape,
            )


def _png(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    ok, encoded = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("an image of the features could not be encoded")
    return np.asarray(encoded, dtype=np.uint8)


_SIFT = cv2.SIFT.create(nfeatures=MAX_FEATURES, contrastThreshold=0.03)


def stamp_features(rgb: NDArray[np.uint8]) -> StampFeatures:
    """Features of a stamp crop or specimen, on its ink map so that paper and light don't count."""
    small, _ = resize_max(rgb, WORK_SIDE)
    ink = to_bytes(ink_map(flatten(small)))
    # SIFT doubles its input first; detecting on a smaller copy halves its cost
    detect_on, factor = resize_max(255 - ink, SIFT_SIDE)
    keypoints, descriptors = _SIFT.detectAndCompute(detect_on, None)
    if descriptors is None or not keypoints:
        return StampFeatures(
            points=np.zeros((0, 2), np.float32),
            descriptors=np.zeros((0, 128), np.uint8),
            ink=ink,
        )
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32) / factor
    return StampFeatures(
        points=points,
        descriptors=np.clip(descriptors, 0, 255).astype(np.uint8),
        ink=ink,
    )
