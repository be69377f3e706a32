"""Impressions on a passport page, photographed: the queries an officer would send.

Three splits, from a flatbed scan to a hurried phone photo in poor light. `hard` must
stay legible to a trained eye: faint and partial, never noise.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.synth.design import StampDesign
from vision.synth.draw import Impression, render_impression
from vision.synth.page import passport_page, smooth_noise


@dataclass(frozen=True)
class SplitProfile:
    name: str
    ppm: float  # page pixels per mm before the camera
    rotation_deg: float
    right_angle_p: float
    perspective: float  # corner jitter, fraction of frame size
    fill: tuple[float, float]  # stamp width / frame width
    pressure_min: tuple[float, float]
    partial_p: float
    voids: tuple[float, float]
    smudge_p: float
    others: tuple[int, int]
    overlap_p: float
    light: tuple[float, float]
    shadow_p: float
    blur: tuple[float, float]
    motion_p: float
    noise: tuple[float, float]
    jpeg: tuple[int, int]
    frame: tuple[int, int]


SPLITS: dict[str, SplitProfile] = {
    "scan": SplitProfile(
        "scan",
        10,
        6,
        0.0,
        0.0,
        (0.5, 0.7),
        (0.7, 0.9),
        0.1,
        (0.0, 0.04),
        0.0,
        (0, 2),
        0.0,
        (0.96, 1.0),
        0.0,
        (0.3, 0.6),
        0.0,
        (1, 2.5),
        (88, 95),
        (900, 700),
    ),
    "phone": SplitProfile(
        "phone",
        9,
        25,
        0.1,
        0.05,
        (0.5, 0.8),
        (0.45, 0.8),
        0.3,
        (0.02, 0.1),
        0.15,
        (1, 3),
        0.2,
        (0.72, 1.0),
        0.2,
        (0.5, 1.3),
        0.15,
        (2, 5),
        (68, 90),
        (1024, 768),
    ),
    "hard": SplitProfile(
        "hard",
        8,
        45,
        0.2,
        0.1,
        (0.4, 0.7),
        (0.22, 0.5),
        0.7,
        (0.06, 0.18),
        0.35,
        (2, 4),
        0.6,
        (0.5, 0.95),
        0.45,
        (0.9, 1.9),
        0.4,
        (4, 8),
        (45, 75),
        (1024, 768),
    ),
}


DESK_TINTS = np.array([[1, 1, 1], [1, 0.8, 0.6], [0.9, 0.9, 1]], dtype=np.float32)


@dataclass(frozen=True)
class Neighbour:
    """Another impression on the page: which design, and where its corners lie (4 x 2)."""

    design_id: str
    quad: NDArray[np.float32]


@dataclass(frozen=True)
class Photo:
    rgb: NDArray[np.uint8]
    stamp_quad: NDArray[np.float32]  # the impression's corners in the photo (4 x 2)
    neighbours: tuple[Neighbour, ...] = ()  # the page's other impressions, in the photo


def ink_density(
    rng: np.random.Generator, impression: Impression, profile: SplitProfile
) -> NDArray[np.float32]:
    """How much ink each pixel got: uneven pressure, partial contact, voids, slight bleed."""
    mask = impression.mask
    shape = mask.shape
    bleed = cv2.GaussianBlur(mask, (0, 0), 0.35 * profile.ppm / 10)
    mask = np.clip(np.maximum(mask, bleed * 1.15), 0, 1)
    low, high = profile.pressure_min
    pressure = low + (1 - low) * smooth_noise(rng, shape, 3) ** 0.6
    pressure = np.clip(pressure + rng.uniform(0, high - low), 0, 1)
    if rng.random() < profile.partial_p:
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
        ramp = (np.cos(angle) * (xx / shape[1] - 0.5) + np.sin(angle) * (yy / shape[0] - 0.5)) * 2
        floor = max(low * 0.8, 0.22)
        pressure *= np.clip(0.5 + ramp * rng.uniform(0.6, 1.2), floor, 1.0)
    v_low, v_high = profile.voids
    voids = smooth_noise(rng, shape, max(8, shape[1] // 6)) < rng.uniform(v_low, v_high)
    density = mask * pressure * np.where(voids, 0.25, 1.0).astype(np.float32)
    return np.clip(density * rng.uniform(0.8, 0.97), 0, 1).astype(np.float32)


def _place(
    layer: NDArray[np.float32],
    canvas_shape: tuple[int, int],
    centre: tuple[float, float],
    angle: float,
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """Rotate `layer` about its centre onto a canvas at `centre`; return it and the affine."""
    h, w = layer.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    matrix[:, 2] += np.array(centre) - np.array([w / 2, h / 2])
    placed = cv2.warpAffine(
        layer, matrix, (canvas_shape[1], canvas_shape[0]), flags=cv2.INTER_LINEAR
    )
    return np.asarray(placed, dtype=np.float32), np.asarray(matrix, dtype=np.float64)


def apply_ink(
    page: NDArray[np.float32], density: NDArray[np.float32], ink_rgb: tuple[int, int, int]
) -> None:
    """Ink is translucent: it multiplies the paper below it (only where there is ink)."""
    rows, cols = np.flatnonzero(density.any(axis=1)), np.flatnonzero(density.any(axis=0))
    if rows.size == 0:
        return
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    ink = np.array(ink_rgb, dtype=np.float32) / 255.0
    page[y0:y1, x0:x1] *= 1 - density[y0:y1, x0:x1, None] * (1 - ink)


def _angle(rng: np.random.Generator, profile: SplitProfile) -> float:
    angle = rng.uniform(-profile.rotation_deg, profile.rotation_deg)
    if rng.random() < profile.right_angle_p:
        angle += float(rng.choice([-90, 90]))
    return float(angle)


def stamp_page(
    rng: np.random.Generator,
    design: StampDesign,
    date: dt.date,
    counter: int,
    others: list[StampDesign],
    profile: SplitProfile,
    blank_page: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.float32], tuple[Neighbour, ...]]:
    """A passport page with the target impression and others; return the page, the target's
    corners and the other impressions' corners.

    `blank_page` (at the profile's resolution) is copied instead of generating a new page.
    """
    ppm = profile.ppm
    page_w, page_h = int(125 * ppm), int(88 * ppm)
    if blank_page is None:
        page = passport_page(rng, page_w, page_h, ppm)
    else:
        page = np.array(blank_page[:page_h, :page_w], dtype=np.float32, copy=True)
    target = render_impression(design, date, counter, ppm)
    th, tw = target.mask.shape
    centre = (rng.uniform(0.3, 0.7) * page_w, rng.uniform(0.3, 0.7) * page_h)
    n_others = int(rng.integers(profile.others[0], profile.others[1] + 1))
    neighbours = []
    for index, other in enumerate(others[:n_others]):
        other_date = date - dt.timedelta(days=int(rng.integers(5, 2000)))
        impression = render_impression(other, other_date, int(rng.integers(1, 99)), ppm)
        if index == 0 and rng.random() < profile.overlap_p:
            distance = rng.uniform(0.45, 0.7) * (max(th, tw) + max(impression.mask.shape)) / 2
        else:
            distance = rng.uniform(0.9, 1.4) * (max(th, tw) + max(impression.mask.shape)) / 2
        direction = rng.uniform(0, 2 * np.pi)
        where = (
            centre[0] + distance * math.cos(direction),
            centre[1] + distance * math.sin(direction),
        )
        placed, matrix = _place(
            ink_density(rng, impression, profile), (page_h, page_w), where, rng.uniform(-30, 30)
        )
        apply_ink(page, placed, other.ink_rgb)
        neighbours.append(Neighbour(other.design_id, _corners(impression.mask.shape, matrix)))
    angle = _angle(rng, profile)
    density = ink_density(rng, target, profile)
    placed, matrix = _place(density, (page_h, page_w), centre, angle)
    if rng.random() < profile.smudge_p:
        shift = rng.normal(0, 0.25 * ppm, 2)
        ghost = cv2.warpAffine(
            placed,
            np.array([[1, 0, shift[0]], [0, 1, shift[1]]], dtype=np.float32),
            (page_w, page_h),
        )
        placed = np.maximum(placed, ghost * rng.uniform(0.25, 0.5))
    apply_ink(page, placed, design.ink_rgb)
    return page, _corners((th, tw), matrix), tuple(neighbours)


def _corners(shape: tuple[int, ...], matrix: NDArray[np.float64]) -> NDArray[np.float32]:
    """Where a placed layer's corners land on the page."""
    h, w = shape[:2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], dtype=np.float64) @ matrix.T
    return corners.astype(np.float32)


def photograph(
    rng: np.random.Generator,
    page: NDArray[np.float32],
    stamp: NDArray[np.float32],
    profile: SplitProfile,
    neighbours: tuple[Neighbour, ...] = (),
) -> Photo:
    """Frame the stamp like a person would, then add the camera's flaws."""
    out_w, out_h = profile.frame
    if rng.random() < 0.3:
        out_w, out_h = out_h, out_w
    (x0, y0), (x1, y1) = stamp.min(axis=0), stamp.max(axis=0)
    span = max(x1 - x0, (y1 - y0) * out_w / out_h)
    view_w = span / rng.uniform(*profile.fill)
    view_h = view_w * out_h / out_w
    cx = (x0 + x1) / 2 + rng.uniform(-0.15, 0.15) * view_w
    cy = (y0 + y1) / 2 + rng.uniform(-0.15, 0.15) * view_h
    source = np.array(
        [
            [cx - view_w / 2, cy - view_h / 2],
            [cx + view_w / 2, cy - view_h / 2],
            [cx + view_w / 2, cy + view_h / 2],
            [cx - view_w / 2, cy + view_h / 2],
        ],
        dtype=np.float32,
    )
    jitter = rng.uniform(-profile.perspective, profile.perspective, (4, 2)) * [out_w, out_h]
    frame = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
    target = (frame + jitter).astype(np.float32)
    homography = cv2.getPerspectiveTransform(source, target)
    if profile.perspective == 0:  # a flatbed: the lid is white
        table = np.full(3, 0.97, dtype=np.float32)
    else:  # a desk or counter: greys and browns
        table = (rng.uniform(0.12, 0.5) * DESK_TINTS[int(rng.integers(len(DESK_TINTS)))]).astype(
            np.float32
        )
    image = cv2.warpPerspective(
        page,
        homography,
        (out_w, out_h),
        flags=cv2.INTER_AREA,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=tuple(float(v) for v in table),
    )

    def seen(corners: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(cv2.perspectiveTransform(corners[None], homography)[0], np.float32)

    image = _light(rng, np.asarray(image, dtype=np.float32), profile)
    image = _optics(rng, image, profile)
    noisy = image * 255 + rng.normal(0, rng.uniform(*profile.noise), image.shape)
    rgb = np.clip(noisy, 0, 255).astype(np.uint8)
    quality = int(rng.integers(profile.jpeg[0], profile.jpeg[1] + 1))
    ok, jpeg = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    decoded = np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR))[..., ::-1]
    return Photo(
        rgb=np.ascontiguousarray(decoded),
        stamp_quad=seen(stamp),
        neighbours=tuple(Neighbour(n.design_id, seen(n.quad)) for n in neighbours),
    )


def _light(
    rng: np.random.Generator, image: NDArray[np.float32], profile: SplitProfile
) -> NDArray[np.float32]:
    h, w = image.shape[:2]
    low, high = profile.light
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h + 1) / 3
    gradient = low + (high - low) * (0.4 + 0.6 * ramp)
    vignette = 1 - 0.25 * (((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2) * (1 - low)
    light = gradient * vignette
    if rng.random() < profile.shadow_p:
        blob = cv2.GaussianBlur(
            (smooth_noise(rng, (h, w), 2) > 0.6).astype(np.float32), (0, 0), w * 0.05
        )
        light *= 1 - blob * rng.uniform(0.2, 0.4)
    cast = np.array(rng.normal(1, 0.035, 3), dtype=np.float32)
    return np.clip(image * light[..., None] * cast, 0, 1)


def _optics(
    rng: np.random.Generator, image: NDArray[np.float32], profile: SplitProfile
) -> NDArray[np.float32]:
    image = np.asarray(cv2.GaussianBlur(image, (0, 0), rng.uniform(*profile.blur)), np.float32)
    if rng.random() < profile.motion_p:
        length = int(rng.integers(3, 8))
        kernel = np.zeros((length, length), dtype=np.float32)
        kernel[length // 2, :] = 1 / length
        rotation = cv2.getRotationMatrix2D(
            (length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1
        )
        kernel = np.asarray(cv2.warpAffine(kernel, rotation, (length, length)), np.float32)
        image = np.asarray(cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6)), np.float32)
    return image


def render_photo(
    rng: np.random.Generator,
    design: StampDesign,
    date: dt.date,
    counter: int,
    others: list[StampDesign],
    split: str,
) -> Photo:
    profile = SPLITS[split]
    page, stamp, neighbours = stamp_page(rng, design, date, counter, others, profile)
    return photograph(rng, page, stamp, profile, neighbours)


def render_specimen(
    design: StampDesign, date: dt.date, counter: int, px_per_mm: float = 12.0, seed: int = 0
) -> NDArray[np.uint8]:
    """The librarian's reference scan: the impression on a white specimen card, evenly inked."""
    rng = np.random.default_rng(seed)
    impression = render_impression(design, date, counter, px_per_mm)
    h, w = impression.mask.shape
    pad = int(3 * px_per_mm)
    card = np.empty((h + 2 * pad, w + 2 * pad, 3), dtype=np.float32)
    card[:] = np.array([0.985, 0.982, 0.972], dtype=np.float32)
    card += np.asarray(rng.normal(0, 0.004, card.shape), dtype=np.float32)
    density = np.zeros(card.shape[:2], dtype=np.float32)
    pressure = 0.88 + 0.1 * smooth_noise(rng, (h, w), 2)
    density[pad : pad + h, pad : pad + w] = impression.mask * pressure
    apply_ink(card, density, design.ink_rgb)
    card = cv2.GaussianBlur(card, (0, 0), 0.4)
    return np.clip(card * 255, 0, 255).astype(np.uint8)
