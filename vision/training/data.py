"""Training batches: photos and clean specimens of the same designs, near-twins side by side.

Training designs come from other seeds than any benchmark world, so the model never
sees the designs it is measured on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from vision.localise import crop, find_stamps
from vision.normalise import model_input
from vision.synth.design import StampDesign, generate_designs
from vision.synth.page import passport_page
from vision.synth.photo import SPLITS, SplitProfile, photograph, render_specimen, stamp_page

TRAIN_SEED_BASE = 10_000
SPLIT_WEIGHTS = {"scan": 0.2, "phone": 0.45, "hard": 0.35}
TRAIN_SCALE = 0.5  # photos are rendered at half size: the model sees a 192 px crop anyway


def small_profile(profile: SplitProfile, scale: float = TRAIN_SCALE) -> SplitProfile:
    frame = (int(profile.frame[0] * scale), int(profile.frame[1] * scale))
    blur = (profile.blur[0] * scale, profile.blur[1] * scale)
    return dataclasses.replace(profile, ppm=profile.ppm * scale, frame=frame, blur=blur)


def training_designs(seed: int, count: int) -> list[StampDesign]:
    designs: list[StampDesign] = []
    block = 0
    while len(designs) < count:
        designs += generate_designs(TRAIN_SEED_BASE + seed * 1000 + block, 1000)
        block += 1
    return designs[:count]


@dataclass
class Batch:
    photos: torch.Tensor
    specimens: torch.Tensor
    captions: list[str]
    design_ids: list[int]


class PairSampler:
    """Endless batches for one worker; reproducible from (seed, worker)."""

    def __init__(self, designs: list[StampDesign], *, batch: int, side: int, seed: int) -> None:
        self.designs = designs
        self.batch = batch
        self.side = side
        self.rng = np.random.default_rng(seed)
        self.by_style: dict[object, list[int]] = {}
        for index, design in enumerate(designs):
            self.by_style.setdefault(design.style, []).append(index)
        self.profiles = {name: small_profile(profile) for name, profile in SPLITS.items()}
        self.pages = [self._page() for _ in range(24)]
        self.specimen_cache: dict[int, NDArray[np.uint8]] = {}

    def _page(self) -> NDArray[np.float32]:
        ppm = max(p.ppm for p in self.profiles.values())
        return passport_page(self.rng, int(125 * ppm), int(88 * ppm), ppm)

    def _indices(self) -> list[int]:
        """Anchors with their entry/exit partner and another design of the same house style."""
        chosen: list[int] = []
        while len(chosen) < self.batch:
            anchor = int(self.rng.integers(len(self.designs)))
            partner = anchor ^ 1 if (anchor ^ 1) < len(self.designs) else anchor
            same_style = self.by_style[self.designs[anchor].style]
            cousin = same_style[int(self.rng.integers(len(same_style)))]
            for index in (anchor, partner, cousin):
                if index not in chosen and len(chosen) < self.batch:
                    chosen.append(index)
        return chosen

    def _date(self, design: StampDesign) -> dt.date:
        end = design.valid_to or dt.date(2026, 6, 30)
        return design.valid_from + dt.timedelta(
            days=int(self.rng.integers(0, max((end - design.valid_from).days, 1)))
        )

    def photo_view(self, design: StampDesign) -> NDArray[np.float32]:
        split = str(self.rng.choice(list(SPLIT_WEIGHTS), p=list(SPLIT_WEIGHTS.values())))
        profile = self.profiles[split]
        others = [self.designs[int(i)] for i in self.rng.integers(0, len(self.designs), 4)]
        page = self.pages[int(self.rng.integers(len(self.pages)))]
        if self.rng.random() < 0.5:
            page = page[::-1, ::-1]
        stamped, quad, _ = stamp_page(
            self.rng,
            design,
            self._date(design),
            int(self.rng.integers(1, 99)),
            others,
            profile,
            blank_page=page,
        )
        photo = photograph(self.rng, stamped, quad, profile).rgb
        regions = find_stamps(photo, max_regions=2)
        if regions and self.rng.random() < 0.9:
            pick = regions[0] if len(regions) == 1 or self.rng.random() < 0.8 else regions[1]
            photo = crop(photo, pick.box)
        return model_input(photo, self.side)

    def specimen_view(self, design: StampDesign) -> NDArray[np.float32]:
        ppm = float(self.rng.uniform(5, 9))
        card = render_specimen(
            design,
            self._date(design),
            int(self.rng.integers(1, 60)),
            ppm,
            seed=int(self.rng.integers(1 << 30)),
        )
        angle = float(self.rng.normal(0, 2))
        h, w = card.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        card = np.asarray(
            cv2.warpAffine(card, matrix, (w, h), borderValue=(250, 250, 248)), np.uint8
        )
        return model_input(card, self.side)

    def cached_specimen(self, index: int) -> NDArray[np.float32]:
        """Specimens are clean scans: one rendering per design is enough."""
        if index not in self.specimen_cache:
            view = self.specimen_view(self.designs[index])
            self.specimen_cache[index] = np.round(view * 255).astype(np.uint8)
        return self.specimen_cache[index].astype(np.float32) / 255.0

    def __iter__(self) -> Iterator[Batch]:
        while True:
            indices = self._indices()
            photos = np.stack([self.photo_view(self.designs[i]) for i in indices])
            specimens = np.stack([self.cached_specimen(i) for i in indices])
            yield Batch(
                photos=torch.from_numpy(photos).permute(0, 3, 1, 2).contiguous(),
                specimens=torch.from_numpy(specimens).permute(0, 3, 1, 2).contiguous(),
                captions=[self.designs[i].caption() for i in indices],
                design_ids=indices,
            )
