"""How faithfully an aligned photo's ink follows the specimen's: text against frame, and
the ink's colour.

A photo's blur, faint ink and voids degrade the frame (border, rings) and the text alike,
while a forger's font, spacing or layout changes the text only; so the text's fidelity
(correlation of the aligned inks) is held against the frame's. Ink colour is the direction
of the ink's optical density (Beer-Lambert): how dark an impression is changes its length,
not its direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.normalise import flatten, to_bytes

INK = 0.4  # ink map level counted as ink
FIDELITY_BLUR = 1.6  # px at WORK_SIDE: fidelity looks past a photo's softness
MIN_PIXELS = 50  # fewer pixels of a part in view: its fidelity is not measured
SLACK_PX = 3  # how far, at WORK_SIDE, a line may sit off the one view of the whole stamp
TILE_PX = 80  # marks that are not text lines (border, dots, arc text) are placed tile by tile
Box = tuple[int, int, int, int]


def ink_delta_e(
    rgb_a: NDArray[np.uint8],
    ink_a: NDArray[np.float32],
    rgb_b: NDArray[np.uint8],
    ink_b: NDArray[np.float32],
) -> float:
    """Delta E (CIE76) between the mean Lab colours of the two images' strongest ink, each
    taken relative to its own paper."""

    def mean_lab(rgb: NDArray[np.uint8], ink: NDArray[np.float32]) -> NDArray[np.float32]:
        # colours relative to the paper, so the light and the camera's white balance cancel
        balanced = to_bytes(flatten(rgb))
        lab = cv2.cvtColor(balanced, cv2.COLOR_RGB2LAB).astype(np.float32).reshape(-1, 3)
        strength = ink.reshape(-1)
        mask = strength >= min(0.5, float(np.percentile(strength, 95)))
        picked = lab[mask] if mask.sum() >= 20 else lab
        # OpenCV's 8-bit Lab: L scaled to 0..255, a and b offset by 128
        return np.asarray(
            picked.mean(axis=0) * np.array([100 / 255, 1, 1]) - np.array([0, 128, 128]),
            np.float32,
        )

    return float(np.linalg.norm(mean_lab(rgb_a, ink_a) - mean_lab(rgb_b, ink_b)))


def ink_angle(
    rgb_a: NDArray[np.uint8],
    ink_a: NDArray[np.float32],
    rgb_b: NDArray[np.uint8],
    ink_b: NDArray[np.float32],
    valid: NDArray[np.bool_],
) -> float:
    """Degrees between the two inks' optical-density directions, each relative to its own
    paper. Density is -log(transmitted light): a lighter or darker impression of one ink
    (pressure, a worn pad, blur that mixes ink with paper) scales it, another ink turns it.
    B's ink is read only on A's strokes, so another stamp overlapping the photo does not
    lend its colour."""

    def direction(
        rgb: NDArray[np.uint8], ink: NDArray[np.float32], where: NDArray[np.bool_]
    ) -> NDArray[np.float64]:
        density = -np.log(np.clip(flatten(rgb), 0.03, 1.0)).reshape(-1, 3)
        strength, inside = ink.reshape(-1), where.reshape(-1)
        if not inside.any():
            inside = np.ones_like(inside)
        level = max(0.35, 0.6 * float(np.percentile(strength[inside], 97)))
        picked = density[(strength > level) & inside]
        vector = (picked if len(picked) >= 20 else density[inside]).sum(axis=0)
        return np.asarray(vector / max(float(np.linalg.norm(vector)), 1e-9), np.float64)

    strokes = cv2.dilate((ink_a > INK).astype(np.uint8), np.ones((5, 5), np.uint8))
    on_strokes = valid & strokes.astype(bool)
    cosine = float(
        np.clip(direction(rgb_a, ink_a, valid) @ direction(rgb_b, ink_b, on_strokes), -1.0, 1.0)
    )
    return float(np.degrees(np.arccos(cosine)))


def departure(fidelity: float, frame: float) -> float:
    """How far a part's fidelity to the specimen falls short of what the photo explains:
    blur, faint ink and voids cost the frame and the text alike, so half the frame's
    shortfall is allowed for."""
    return (1.0 - fidelity) - 0.5 * (1.0 - frame)


def frame_components(
    mask: NDArray[np.bool_],
) -> tuple[NDArray[np.int32], NDArray[np.int32], list[int]]:
    """Connected ink components, and which of them are long strokes (a border, a ring)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    height, width = mask.shape
    long = [i for i in range(1, count) if stats[i, 2] > 0.5 * width or stats[i, 3] > 0.5 * height]
    return np.asarray(labels, np.int32), np.asarray(stats, np.int32), long


@dataclass(frozen=True)
class Fidelity:
    """The two inks blurred alike, and where A's text and frame lie (within B's view)."""

    a: NDArray[np.float32]
    b: NDArray[np.float32]
    text: NDArray[np.bool_]
    frame: NDArray[np.bool_]

    @classmethod
    def of(
        cls, ink_a: NDArray[np.float32], ink_b: NDArray[np.float32], valid: NDArray[np.bool_]
    ) -> Fidelity:
        mask = ink_a > INK
        labels, _, long = frame_components(mask)
        is_long = np.isin(labels, long)
        near = np.ones((7, 7), np.uint8)
        frame = cv2.dilate(is_long.astype(np.uint8), near).astype(bool) & valid
        text = cv2.dilate((mask & ~is_long).astype(np.uint8), near).astype(bool) & valid & ~frame
        blur = FIDELITY_BLUR
        return cls(
            np.asarray(cv2.GaussianBlur(ink_a, (0, 0), blur), np.float32),
            np.asarray(cv2.GaussianBlur(ink_b, (0, 0), blur), np.float32),
            text,
            frame,
        )

    def local(self, where: NDArray[np.bool_], box: Box) -> tuple[float | None, int]:
        """Correlation over `where` inside `box`, with B's part at its best place within
        SLACK_PX: paper is not flat and a hand-inked stamp not rigid, so one view leaves a
        line a pixel or two off, which costs thin strokes much of their correlation.
        Also how many pixels were compared."""
        x, y, w, h = box
        height, width = where.shape
        x0, y0 = max(x, SLACK_PX), max(y, SLACK_PX)
        x1, y1 = min(x + w, width - SLACK_PX), min(y + h, height - SLACK_PX)
        inside = where[y0:y1, x0:x1].astype(np.float32)
        count = int(inside.sum())
        if count < MIN_PIXELS:
            return None, 0
        # masked Pearson correlation at every shift at once: sums over the mask of a*b, b
        # and b*b are three correlations of B's window with fixed templates
        a = self.a[y0:y1, x0:x1] * inside
        mean_a = float(a.sum()) / count
        var_a = float((a * a).sum()) / count - mean_a**2
        window = self.b[y0 - SLACK_PX : y1 + SLACK_PX, x0 - SLACK_PX : x1 + SLACK_PX]
        sum_ab = cv2.matchTemplate(window, a, cv2.TM_CCORR) / count
        mean_b = cv2.matchTemplate(window, inside, cv2.TM_CCORR) / count
        var_b = cv2.matchTemplate(window * window, inside, cv2.TM_CCORR) / count - mean_b**2
        if var_a < 1e-8 or float(var_b.max()) < 1e-8:
            return 0.0, count
        correlation = (sum_ab - mean_a * mean_b) / np.sqrt(var_a * np.maximum(var_b, 1e-8))
        return float(np.clip(correlation.max(), -1.0, 1.0)), count

    def text_fidelity(self, lines: dict[Box, tuple[float | None, int]]) -> float | None:
        """The text's correlation: the lines at their best places (`local` of each line's
        box), the rest (arc text, marks) tile by tile; weighted by their pixels."""
        rest = self.text.copy()
        for x, y, w, h in lines:
            rest[y : y + h, x : x + w] = False
        measured = [(value, count) for value, count in lines.values() if value is not None]
        return _weighted(measured + self._tiles(rest))

    def tiled(self, where: NDArray[np.bool_]) -> float | None:
        """Correlation over `where`, tile by tile, each tile at its best place."""
        return _weighted(self._tiles(where))

    def _tiles(self, where: NDArray[np.bool_]) -> list[tuple[float, int]]:
        height, width = where.shape
        measured = []
        for y in range(0, height, TILE_PX):
            for x in range(0, width, TILE_PX):
                value, count = self.local(where, (x, y, TILE_PX, TILE_PX))
                if value is not None:
                    measured.append((value, count))
        return measured


def _weighted(measured: list[tuple[float, int]]) -> float | None:
    """The mean of correlations weighted by the pixels each was measured on."""
    pixels = sum(count for _, count in measured)
    return sum(value * count for value, count in measured) / pixels if pixels else None


# a line's ink profile is tried at these scales against the photo's (a forger's spacing or
# letter size is 8-25% off; a genuine impression's lines keep their size against the frame)
SCALES = np.exp(np.linspace(np.log(0.75), np.log(1.33), 59))
PROFILE_SHIFT_PX = 3  # how far a line's profile may sit off, at WORK_SIDE
PROFILE_BLUR = 1.5
PROFILE_FIT = 0.5  # a line whose profiles correlate less at every scale is not measured


def _profile_scale(
    ink_a: NDArray[np.float32], ink_b: NDArray[np.float32], box: Box
) -> tuple[float, float]:
    """How much longer B's ink profile along a line's length is than A's (the scale with
    the best correlation, the line's centre kept within PROFILE_SHIFT_PX) and that
    correlation. `box` (x, y, w, h) runs along x; a margin of a quarter of its length (at
    least 3 px) lets a longer profile in."""
    x, y, w, h = box
    pad = max(w // 4, 3)
    x0, x1 = max(0, x - pad), min(ink_a.shape[1], x + w + pad)
    profiles = [
        cv2.GaussianBlur(ink[y : y + h, x0:x1].sum(axis=0)[None, :], (0, 0), PROFILE_BLUR)[0]
        for ink in (ink_a, ink_b)
    ]
    a, b = (np.asarray(p, np.float64) for p in profiles)
    if len(a) < 8 or a.std() < 1e-6 or b.std() < 1e-6:
        return 1.0, 0.0
    at = np.arange(len(a), dtype=np.float64)
    centre = x + w / 2 - x0
    shifts = np.arange(-PROFILE_SHIFT_PX, PROFILE_SHIFT_PX + 1)
    # A stretched by each scale about the line's centre, at each shift: where B's pixel
    # `at` samples A
    source = (at[None, None, :] - centre - shifts[None, :, None]) / SCALES[:, None, None] + centre
    stretched = np.interp(source.ravel(), at, a, left=0.0, right=0.0).reshape(-1, len(a))
    stretched -= stretched.mean(axis=1, keepdims=True)
    centred = b - b.mean()
    norms = np.linalg.norm(stretched, axis=1) * np.linalg.norm(centred)
    correlation = (stretched @ centred) / np.maximum(norms, 1e-12)
    best = int(np.argmax(correlation))
    return float(SCALES[best // len(shifts)]), float(correlation[best])


def text_scale(
    ink_a: NDArray[np.float32], ink_b: NDArray[np.float32], lines: list[Box]
) -> tuple[float, float] | None:
    """The size of B's text lines against A's with both stamps aligned on the whole: the
    median over the lines of each line's length scale and of its letters' height scale
    (its profile across), lines whose profiles fit too poorly left out; None when no line
    can be measured. A forger's spacing or letter size departs from 1 on most lines; a
    date or counter, other on every impression, moves one line's length only."""
    lengths, heights = [], []
    for x, y, w, h in lines:
        length, fit = _profile_scale(ink_a, ink_b, (x, y, w, h))
        if fit > PROFILE_FIT:
            lengths.append(length)
        height, fit = _profile_scale(ink_a.T, ink_b.T, (y, x, h, w))
        if fit > PROFILE_FIT:
            heights.append(height)
    if not lengths and not heights:
        return None
    return (
        float(np.median(lengths)) if lengths else 1.0,
        float(np.median(heights)) if heights else 1.0,
    )
