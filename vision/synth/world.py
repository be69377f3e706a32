"""A seeded synthetic world: library specimens, query photos per split, unknown stamps, forgeries.

Every sample has its own random stream derived from (seed, kind, index), so a smaller
world is a prefix of a larger one and any sample can be rebuilt alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from vision.synth.design import FORGERY_KINDS, StampDesign, forge, generate_designs
from vision.synth.names import place_name
from vision.synth.photo import Photo, render_photo, render_specimen

SPLITS = ("scan", "phone", "hard")
_STREAMS = {"specimen": 1, "scan": 2, "phone": 3, "hard": 4, "unknown": 5, "forgery": 6}


@dataclass(frozen=True)
class Inking:
    date: dt.date
    counter: int


@dataclass(frozen=True)
class Query:
    split: str
    index: int
    design: StampDesign
    design_index: int | None  # None: the stamp is not in the library
    photo: Photo
    inking: Inking
    # the library designs of the page's other impressions, in the order of photo.neighbours
    neighbour_indices: tuple[int, ...] = ()


@dataclass(frozen=True)
class ForgeryPair:
    index: int
    design_index: int
    kind: str
    genuine: Photo
    forged: Photo


class SyntheticWorld:
    def __init__(self, *, seed: int, specimens: int) -> None:
        self.seed = seed
        self.designs = generate_designs(seed, specimens)

    def _rng(self, stream: str, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, _STREAMS[stream], index])

    def impression_date(self, design: StampDesign, rng: np.random.Generator) -> dt.date:
        end = design.valid_to or dt.date(2026, 6, 30)
        span = max((end - design.valid_from).days, 1)
        return design.valid_from + dt.timedelta(days=int(rng.integers(0, span)))

    def specimen_inking(self, index: int) -> Inking:
        rng = self._rng("specimen", index)
        return Inking(self.impression_date(self.designs[index], rng), int(rng.integers(1, 60)))

    def specimen(self, index: int) -> NDArray[np.uint8]:
        inking = self.specimen_inking(index)
        return render_specimen(
            self.designs[index], inking.date, inking.counter, seed=self.seed * 100_003 + index
        )

    def _others(self, rng: np.random.Generator, exclude: int | None) -> list[int]:
        return [int(i) for i in rng.integers(0, len(self.designs), 6) if int(i) != exclude]

    def _photo(
        self,
        rng: np.random.Generator,
        design: StampDesign,
        split: str,
        avoid: Inking | None,
        exclude: int | None,
    ) -> tuple[Photo, Inking, tuple[int, ...]]:
        """Re-ink the design with another date and counter than `avoid`, and photograph it
        among other library stamps (whose design indices come third)."""
        date = self.impression_date(design, rng)
        counter = int(rng.integers(1, 99))
        if avoid and date == avoid.date:
            date += dt.timedelta(days=1)
        if avoid and counter == avoid.counter:
            counter += 1
        others = self._others(rng, exclude)
        photo = render_photo(rng, design, date, counter, [self.designs[i] for i in others], split)
        return photo, Inking(date, counter), tuple(others[: len(photo.neighbours)])

    def query(self, split: str, index: int) -> Query:
        """Query `index` of a split: a random library design, re-inked and photographed."""
        design_index = int(self._rng(split, index).integers(len(self.designs)))
        return self.query_of(design_index, split, index)

    def query_of(self, design_index: int, split: str, index: int) -> Query:
        rng = self._rng(split, index)
        rng.integers(len(self.designs))  # keeps the stream aligned with query()
        design = self.designs[design_index]
        avoid = self.specimen_inking(design_index)
        photo, inking, neighbours = self._photo(rng, design, split, avoid, design_index)
        return Query(split, index, design, design_index, photo, inking, neighbours)

    @cached_property
    def _library_names(self) -> set[str]:
        return {design.bcp_name for design in self.designs}

    def unknown_design(self, index: int) -> StampDesign:
        """Half new house styles, half a made-up BCP in a genuine library style."""
        rng = self._rng("unknown", index)
        if index % 2 == 0:
            pool = generate_designs(self.seed + 1 + index // 64, 64, namespace="unknown")
            return pool[index % 64]
        base = self.designs[int(rng.integers(len(self.designs)))]
        taken = set(self._library_names)
        name = f"{place_name(rng, base.country, taken)} {base.bcp_name.split(' ', 1)[-1]}"
        return replace(base, design_id=f"unknown-{index}", bcp_name=name[:30])

    def unknown_query(self, index: int, split: str = "phone") -> Query:
        design = self.unknown_design(index)
        photo, inking, neighbours = self._photo(
            self._rng("unknown", index), design, split, None, None
        )
        return Query(split, index, design, None, photo, inking, neighbours)

    def forgery_pair(self, index: int) -> ForgeryPair:
        """A genuine phone photo and a forged variant's phone photo of one library design."""
        rng = self._rng("forgery", index)
        design_index = int(rng.integers(len(self.designs)))
        design = self.designs[design_index]
        kind = FORGERY_KINDS[index % len(FORGERY_KINDS)]
        avoid = self.specimen_inking(design_index)
        genuine, _, _ = self._photo(rng, design, "phone", avoid, design_index)
        forged, _, _ = self._photo(rng, forge(design, kind, rng), "phone", avoid, design_index)
        return ForgeryPair(index, design_index, kind, genuine, forged)
