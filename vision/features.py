"""Local features of a stamp image, computed once per specimen and once per query.

What is kept of a specimen: keypoints and SIFT descriptors of its ink, and its ink map
at the working size, which dense verification compares the aligned query against.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.normalise import flatten, ink_map, resize_max, to_bytes

WORK_SIDE = 448
SIFT_SIDE = 384
MAX_FEATURES = 500


@dataclass(frozen=True)
class StampFeatures:
    points: NDArray[np.float32]  # (N, 2) keypoint positions at the working size
    descriptors: NDArray[np.uint8]  # (N, 128) SIFT descriptors (integer-valued in OpenCV)
    ink: NDArray[np.uint8]  # (H, W) ink map at the working size, 0..255
    # boxes (x0, y0, x1, y1) of a specimen's variable lines (date, counter) at the working
    # size (`vision.fields`); None: not known
    variable: NDArray[np.int16] | None = None

    def to_bytes(self) -> bytes:
        # the ink map as a fast PNG: a tenth of the raw size at a tenth of zlib's time
        arrays: dict[str, NDArray[np.uint8] | NDArray[np.float32] | NDArray[np.int16]] = {
            "points": self.points,
            "descriptors": self.descriptors,
            "ink_png": _png(self.ink),
        }
        if self.variable is not None:
            arrays["variable"] = self.variable
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
            return cls(
                points=arrays["points"],
                descriptors=arrays["descriptors"],
                ink=ink,
                variable=variable,
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
