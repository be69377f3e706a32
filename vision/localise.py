"""Finding stamp impressions on a passport-page photo: ink segmentation, then grouping.

Strokes of one impression lie close together; closing the ink mask with a kernel a few
strokes wide joins each impression into one blob while separate stamps stay apart.
Stamps pressed across or against each other join too, unless their inks differ: the ink is
split by colour first (the direction of its optical density, which darkness does not
change), and each colour's strokes are grouped on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.normalise import WORK_SIDE, flatten, ink_map, resize_max

SPECK = 0.002  # ink blobs smaller than this share of a specimen image are dust, not stamp
MAX_INKS = 4  # ink colours told apart on one photo
SAME_INK_DEG = 12.0  # density directions closer than this are one ink
STRONG_INK = 0.3  # ink map level of the pixels an ink's colour is read from
PAD = 0.06  # an impression's box is padded by this share of its longer side


@dataclass(frozen=True)
class StampRegion:
    """A box (x, y, w, h) in the original photo's pixels and how stamp-like it is."""

    box: tuple[int, int, int, int]
    score: float


def _ink_mask(ink: NDArray[np.float32]) -> NDArray[np.uint8]:
    level = max(0.12, float(np.percentile(ink, 60)) + 0.08)
    mask = (ink > level).astype(np.uint8) * 255
    return np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)), np.uint8)


def page_mask(small: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Where the page is: a desk or table around it is much darker than paper."""
    lightness = cv2.GaussianBlur(
        cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (0, 0), max(small.shape) / 60
    )
    paper = float(np.percentile(lightness, 90))
    inside = lightness > paper * 0.72
    shrink = max(3, max(small.shape) // 80)
    eroded = cv2.erode(inside.astype(np.uint8), np.ones((shrink, shrink), np.uint8))
    return np.asarray(eroded, dtype=bool)


def _nested(outer: NDArray[np.int64], inner: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Whether each `inner` box (x0, y0, x1, y1) lies mostly (60% of its area) inside each
    `outer` box: len(outer) x len(inner)."""
    ix = np.minimum(outer[:, None, 2], inner[None, :, 2]) - np.maximum(
        outer[:, None, 0], inner[None, :, 0]
    )
    iy = np.minimum(outer[:, None, 3], inner[None, :, 3]) - np.maximum(
        outer[:, None, 1], inner[None, :, 1]
    )
    area = (inner[:, 2] - inner[:, 0]) * (inner[:, 3] - inner[:, 1])
    return np.asarray(np.clip(ix, 0, None) * np.clip(iy, 0, None) >= 0.6 * area[None, :])


def _merge_nested(boxes: list[list[int]]) -> list[list[int]]:
    """Union boxes lying mostly inside another: the text inside an impression's rim.

    The first nested pair in box order merges, then the next is sought afresh; which boxes
    hold which is kept in a matrix and only the merged box's row and column are redone."""
    held = np.array(boxes, dtype=np.int64).reshape(-1, 4)
    inside = _nested(held, held)
    np.fill_diagonal(inside, False)
    while (hits := np.flatnonzero(inside)).size:
        i, j = divmod(int(hits[0]), len(held))
        held[i, :2] = np.minimum(held[i, :2], held[j, :2])
        held[i, 2:] = np.maximum(held[i, 2:], held[j, 2:])
        held = np.delete(held, j, axis=0)
        inside = np.delete(np.delete(inside, j, axis=0), j, axis=1)
        i -= int(j < i)
        inside[i, :] = _nested(held[i : i + 1], held)[0]
        inside[:, i] = _nested(held, held[i : i + 1])[:, 0]
        inside[i, i] = False
    return [[int(v) for v in box] for box in held]


def blobs(mask: NDArray[np.uint8]) -> NDArray[np.int32]:
    """Connected ink blobs (x, y, w, h, area per row) after closing the mask with a kernel a
    few strokes wide, so that the strokes of one impression join."""
    k = max(3, int(max(mask.shape) / 64))
    joined = cv2.morphologyEx(
        mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    )
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined)
    return np.asarray(stats[1:], dtype=np.int32)


def _directions(pixels: NDArray[np.float32]) -> NDArray[np.float32]:
    """Optical density directions (unit 3-vectors) of paper-relative RGB pixels (N x 3):
    their ink's colour."""
    density = -np.log(np.clip(pixels, 0.03, 1.0))
    return np.asarray(density / (np.linalg.norm(density, axis=1, keepdims=True) + 1e-6), np.float32)


def ink_colours(
    flat: NDArray[np.float32], ink: NDArray[np.float32], mask: NDArray[np.bool_]
) -> NDArray[np.int32]:
    """Which ink each masked pixel holds (0, 1, ...; -1 outside the mask).

    Inks are density directions read from strong strokes: the first is their mean, each next
    the direction farthest from those found while it is more than SAME_INK_DEG away; then a
    few rounds of nearest-ink assignment, and inks that came within SAME_INK_DEG are one."""
    directions = _directions(flat[mask])
    strong = directions[ink[mask] > STRONG_INK]
    labels = np.full(mask.shape, -1, np.int32)
    if len(strong) < 50:
        labels[mask] = 0
        return labels
    strong = strong[:: max(1, len(strong) // 4000)]
    same = np.cos(np.radians(SAME_INK_DEG))
    mean = strong.mean(axis=0)
    centres = [mean / np.linalg.norm(mean)]
    while len(centres) < MAX_INKS:
        nearest = (strong @ np.array(centres).T).max(axis=1)
        if nearest.min() >= same:
            break
        centres.append(strong[int(nearest.argmin())])
    inks = np.array(centres)
    for _ in range(5):
        assigned = (strong @ inks.T).argmax(axis=1)
        inks = np.array(
            [
                strong[assigned == k].mean(axis=0) if (assigned == k).any() else inks[k]
                for k in range(len(inks))
            ]
        )
        inks /= np.linalg.norm(inks, axis=1, keepdims=True)
    kept: list[NDArray[np.float32]] = []
    for centre in inks:
        if all(float(centre @ other) < same for other in kept):
            kept.append(centre)
    labels[mask] = (directions @ np.array(kept).T).argmax(axis=1)
    return labels


def _boxes(mask: NDArray[np.uint8]) -> list[list[int]]:
    return [
        [int(x), int(y), int(x + bw), int(y + bh)]
        for x, y, bw, bh, area in blobs(mask)
        if area >= 12
    ]


def find_stamps(rgb: NDArray[np.uint8], max_regions: int = 6) -> list[StampRegion]:
    """Candidate impressions, best first (large, inky, near the centre of the frame).

    The page's dark surroundings (a desk) are left out; a dense, dark impression can look as
    dark as a desk, so a dark patch the page encloses is searched for impressions as well,
    and any it yields that overlap none found on the page alone are candidates too."""
    small, scale = resize_max(rgb, WORK_SIDE)
    flat = flatten(small)
    ink = ink_map(flat)
    page = page_mask(small)
    inked = _ink_mask(ink)
    regions = _regions(flat, ink, inked * page, scale)
    holes = enclosed(page)
    if holes.any():
        found = [region.box for region in regions]
        regions += [
            region
            for region in _regions(flat, ink, inked * (page | holes), scale)
            if not any(_overlap(region.box, box) for box in found)
        ]
    regions.sort(key=lambda region: -region.score)
    return regions[:max_regions]


def enclosed(page: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """What is not page but lies within it (touches no edge of the frame) and could hold an
    impression: not the desk around a page, but perhaps an impression as dark as one."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~page).astype(np.uint8))
    height, width = page.shape
    inner = [
        i
        for i in range(1, count)
        if stats[i, 0] > 0
        and stats[i, 1] > 0
        and stats[i, 0] + stats[i, 2] < width
        and stats[i, 1] + stats[i, 3] < height
        and _large_enough(int(stats[i, 2]), int(stats[i, 3]), page.shape)
    ]
    return np.isin(labels, inner) if inner else np.zeros_like(page)


def _large_enough(width: int, height: int, frame: tuple[int, ...]) -> bool:
    """Whether a box this size could be an impression in the frame (not a speck or a line)."""
    return width * height >= 0.01 * frame[0] * frame[1] and min(width, height) >= 0.06 * min(
        frame[:2]
    )


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0]) and min(a[1] + a[3], b[1] + b[3]) > max(
        a[1], b[1]
    )


def _regions(
    flat: NDArray[np.float32], ink: NDArray[np.float32], mask: NDArray[np.uint8], scale: float
) -> list[StampRegion]:
    """Impressions among the ink `mask` keeps (0 or 255), each ink colour grouped on its
    own, in the original photo's pixels (`scale`: the working size's)."""
    h, w = ink.shape
    colours = ink_colours(flat, ink, mask > 0)
    boxes = [
        box
        for colour in range(int(colours.max()) + 1)
        for box in _boxes(((colours == colour) * 255).astype(np.uint8))
    ]
    regions = []
    for x0, y0, x1, y1 in _merge_nested(boxes):
        bw, bh = x1 - x0, y1 - y0
        if not _large_enough(bw, bh, ink.shape):
            continue
        if float(mask[y0:y1, x0:x1].mean() / 255) < 0.03:
            continue
        score = prominence((x0, y0, x1, y1), ink.shape)
        pad = int(PAD * max(bw, bh))
        box = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
        left, top, right, bottom = (round(v / scale) for v in box)
        regions.append(StampRegion((left, top, right - left, bottom - top), score))
    return regions


def prominence(corners: tuple[float, float, float, float], frame: tuple[int, ...]) -> float:
    """How likely an impression spanning `corners` (x0, y0, x1, y1) is the one a photo of
    `frame` (height, width) was taken of: large and near the centre of the frame."""
    x0, y0, x1, y1 = corners
    h, w = frame[:2]
    centrality = 1 - min(
        1.0, float(np.hypot((x0 + x1) / 2 / w - 0.5, (y0 + y1) / 2 / h - 0.5)) * 1.6
    )
    return float(((x1 - x0) * (y1 - y0) / (h * w)) ** 0.5 * (0.35 + centrality))


def crop_bounds(
    shape: tuple[int, ...], box: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    """Where `crop` cuts (x0, y0, x1, y1): the box clipped to the image; the whole image
    when the box is empty."""
    x, y, w, h = box
    height, width = shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0, 0, width, height
    return x0, y0, x1, y1


def crop(rgb: NDArray[np.uint8], box: tuple[int, int, int, int]) -> NDArray[np.uint8]:
    """The box clipped to the image; the whole image when the box is empty."""
    x0, y0, x1, y1 = crop_bounds(rgb.shape, box)
    return np.ascontiguousarray(rgb[y0:y1, x0:x1])


@dataclass(frozen=True)
class Frame:
    """Where a searched crop lies on its photo: the photo's shape, the box searched and the
    shape the crop was worked on at (its ink map's), to carry points from one to the other."""

    photo: tuple[int, ...]
    box: tuple[int, int, int, int]
    working: tuple[int, ...]

    def to_photo(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Points (N x 2) at the crop's working size, in the photo's pixels."""
        left, top, right, _ = crop_bounds(self.photo, self.box)
        scale = (right - left) / max(1, self.working[1])
        return np.asarray(points, dtype=np.float64) * scale + (left, top)

    def prominence(self, corners: tuple[float, float, float, float]) -> float:
        """`prominence` on the photo of what spans `corners` (x0, y0, x1, y1) on the crop,
        cut to the photo."""
        (x0, y0), (x1, y1) = self.to_photo(np.array(corners, dtype=np.float64).reshape(2, 2))
        height, width = self.photo[:2]
        x0, x1 = np.clip((x0, x1), 0, width)
        y0, y1 = np.clip((y0, y1), 0, height)
        return prominence((x0, y0, x1, y1), self.photo)


def outline_in_photo(
    specimen_ink: NDArray[np.uint8], query_to_specimen: NDArray[np.float64], frame: Frame
) -> list[tuple[float, float]] | None:
    """Where a verified specimen lies on the photo: the corners of its ink's extent, carried
    from the specimen's working frame onto the photo's crop (the inverse of verification's
    homography) and from the crop's working size to the photo's pixels. An officer sees
    which impression the answer is about, even when the searched box held two stamps."""
    ys, xs = np.nonzero(specimen_ink > 64)
    if len(xs) < 4:
        return None
    x0, x1 = np.percentile(xs, (0.5, 99.5))
    y0, y1 = np.percentile(ys, (0.5, 99.5))
    corners = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], dtype=np.float64)
    try:
        to_query = np.linalg.inv(query_to_specimen)
    except np.linalg.LinAlgError:
        return None
    in_photo = frame.to_photo(cv2.perspectiveTransform(corners, to_query)[0])
    return [(round(float(x), 1), round(float(y), 1)) for x, y in in_photo]


def specimen_box(rgb: NDArray[np.uint8]) -> tuple[int, int, int, int]:
    """The box around all of a specimen image's ink, specks of dust left out.

    A specimen image shows one stamp, so all its ink belongs to it: a thin border whose box
    holds little ink, a line of small text, a border broken by worn ink. The photo
    localiser's tests for a likely impression on a busy page would cut those off.
    """
    small, scale = resize_max(rgb, WORK_SIDE)
    h, w = small.shape[:2]
    stats = blobs(_ink_mask(ink_map(flatten(small))))
    parts = [(x, y, x + bw, y + bh) for x, y, bw, bh, area in stats if area >= SPECK * h * w]
    if not parts:
        return 0, 0, rgb.shape[1], rgb.shape[0]
    pad = int(0.02 * max(h, w))
    left = max(0, min(p[0] for p in parts) - pad)
    top = max(0, min(p[1] for p in parts) - pad)
    right = min(w, max(p[2] for p in parts) + pad)
    bottom = min(h, max(p[3] for p in parts) + pad)
    x0, y0, x1, y1 = (round(v / scale) for v in (left, top, right, bottom))
    return x0, y0, x1 - x0, y1 - y0


def primary_crop(rgb: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], tuple[int, int, int, int]]:
    """The most likely impression, or the whole photo when no ink blob stands out."""
    regions = find_stamps(rgb, max_regions=1)
    if not regions:
        return rgb, (0, 0, rgb.shape[1], rgb.shape[0])
    return crop(rgb, regions[0].box), regions[0].box
