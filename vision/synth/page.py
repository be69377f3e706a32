"""A generated passport visa page: tinted security paper, guilloche, microprint, page number."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

TINTS = (
    (232, 240, 226),
    (226, 236, 242),
    (244, 232, 236),
    (240, 236, 220),
    (236, 232, 244),
    (228, 242, 238),
    (246, 240, 226),
    (238, 238, 238),
)


def smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], cells: int
) -> NDArray[np.float32]:
    """Low-frequency noise in [0, 1]: a coarse random grid, bicubically enlarged."""
    height, width = shape
    grid = rng.random((max(2, cells * height // max(width, 1) + 2), cells + 2)).astype(np.float32)
    field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    low, high = float(field.min()), float(field.max())
    return (field - low) / max(high - low, 1e-6)


def _guilloche(
    rng: np.random.Generator, canvas: NDArray[np.float32], colour: NDArray[np.float32], ppm: float
) -> None:
    height, width = canvas.shape[:2]
    layer = np.zeros((height, width), dtype=np.uint8)
    thickness = 1
    for _ in range(int(rng.integers(1, 3))):  # rosettes (hypotrochoids)
        cx, cy = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
        big, small = (
            rng.uniform(0.25, 0.6) * min(width, height),
            rng.uniform(0.04, 0.16) * min(width, height),
        )
        k, turns = int(rng.integers(5, 13)), int(rng.integers(30, 70))
        for phase in np.linspace(0, 2 * np.pi / k, 6, endpoint=False):
            t = np.linspace(0, 2 * np.pi, 3000)
            r = big + small * np.cos(k * t + phase)
            wobble = 1 + 0.025 * np.cos(turns * t)
            pts = np.stack([cx + r * wobble * np.cos(t), cy + r * wobble * np.sin(t)], axis=1)
            cv2.polylines(layer, [pts.astype(np.int32)], True, 255, thickness, cv2.LINE_AA)
    wave_period = rng.uniform(8, 20) * ppm
    amplitude = rng.uniform(1.5, 5) * ppm
    step = rng.uniform(0.9, 1.8) * ppm
    x = np.arange(0, width, 2, dtype=np.float64)
    for i, y0 in enumerate(np.arange(-amplitude, height + amplitude, step)):
        phase = i * rng.uniform(0.05, 0.25)
        y = y0 + amplitude * np.sin(2 * np.pi * x / wave_period + phase)
        cv2.polylines(
            layer, [np.stack([x, y], axis=1).astype(np.int32)], False, 120, thickness, cv2.LINE_AA
        )
    alpha = (layer.astype(np.float32) / 255.0 * rng.uniform(0.25, 0.45))[..., None]
    canvas[:] = canvas * (1 - alpha) + colour * alpha


def _microprint(
    rng: np.random.Generator, canvas: NDArray[np.float32], colour: NDArray[np.float32], ppm: float
) -> None:
    height, width = canvas.shape[:2]
    layer = np.zeros((height, width), dtype=np.uint8)
    scale = 0.18 * ppm / 8
    word = str(rng.choice(["PASSPORT", "PASSEPORT", "PASAPORTE", "REPUBLIC"]))
    for y in (int(rng.uniform(0.04, 0.1) * height), int(rng.uniform(0.9, 0.96) * height)):
        cv2.putText(
            layer, (word + " ") * 40, (0, y), cv2.FONT_HERSHEY_PLAIN, scale * 2, 255, 1, cv2.LINE_AA
        )
    number = str(int(rng.integers(2, 48)))
    corner = (
        (int(width - 8 * ppm), int(height - 4 * ppm))
        if rng.random() < 0.5
        else (int(3 * ppm), int(height - 4 * ppm))
    )
    cv2.putText(
        layer,
        number,
        corner,
        cv2.FONT_HERSHEY_SIMPLEX,
        0.09 * ppm,
        255,
        max(1, int(ppm / 6)),
        cv2.LINE_AA,
    )
    alpha = (layer.astype(np.float32) / 255.0 * 0.55)[..., None]
    canvas[:] = canvas * (1 - alpha) + colour * alpha


def passport_page(
    rng: np.random.Generator, width: int, height: int, ppm: float
) -> NDArray[np.float32]:
    """An RGB page in [0, 1]: tint, paper texture and printed security background."""
    tint = np.array(TINTS[int(rng.integers(len(TINTS)))], dtype=np.float32) / 255.0
    tint = np.clip(tint + rng.normal(0, 0.015, 3), 0, 1).astype(np.float32)
    page = np.empty((height, width, 3), dtype=np.float32)
    page[:] = tint
    texture = (smooth_noise(rng, (height, width), 6) - 0.5) * 0.05
    grain = rng.normal(0, 0.012, (height, width)).astype(np.float32)
    page += (texture + cv2.GaussianBlur(grain, (0, 0), 0.7))[..., None]
    ink = np.clip(
        tint - rng.uniform(0.12, 0.3) * np.array(rng.dirichlet([2, 2, 2]) * 3, dtype=np.float32),
        0,
        1,
    )
    _guilloche(rng, page, ink.astype(np.float32), ppm)
    _microprint(rng, page, ink.astype(np.float32), ppm)
    return np.clip(page, 0, 1)
