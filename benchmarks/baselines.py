"""Baselines run beside StampLib on the same data: perceptual hash and ORB brute force."""

from __future__ import annotations

import time
from typing import Protocol

import cv2
import imagehash
import numpy as np
from numpy.typing import NDArray
from PIL import Image

Ranked = list[tuple[int, float]]


class Method(Protocol):
    name: str

    def add(self, specimen_id: int, rgb: NDArray[np.uint8]) -> None: ...
    def search(self, rgb: NDArray[np.uint8], k: int) -> tuple[Ranked, dict[str, float]]: ...


def _gray(rgb: NDArray[np.uint8], max_side: int) -> NDArray[np.uint8]:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = max_side / max(gray.shape)
    if scale < 1:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.asarray(gray, dtype=np.uint8)


class PerceptualHash:
    """Nearest neighbour by Hamming distance of 256-bit pHash of the whole image."""

    name = "phash"

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.hashes: list[NDArray[np.bool_]] = []

    def _hash(self, rgb: NDArray[np.uint8]) -> NDArray[np.bool_]:
        return np.asarray(
            imagehash.phash(Image.fromarray(_gray(rgb, 512)), hash_size=16).hash
        ).ravel()

    def add(self, specimen_id: int, rgb: NDArray[np.uint8]) -> None:
        self.ids.append(specimen_id)
        self.hashes.append(self._hash(rgb))

    def search(self, rgb: NDArray[np.uint8], k: int) -> tuple[Ranked, dict[str, float]]:
        started = time.perf_counter()
        query = self._hash(rgb)
        hashed = time.perf_counter()
        distances = (np.stack(self.hashes) != query).sum(axis=1)
        order = np.argsort(distances, kind="stable")[:k]
        done = time.perf_counter()
        ranked = [(self.ids[i], float(1 - distances[i] / query.size)) for i in order]
        return ranked, {"hash": (hashed - started) * 1e3, "scan": (done - hashed) * 1e3}


class OrbBruteForce:
    """ORB descriptors of the query matched against every specimen; ranked by ratio-test matches."""

    name = "orb_bruteforce"

    def __init__(self, features: int = 500, max_side: int = 640) -> None:
        self.orb = cv2.ORB.create(nfeatures=features)
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        self.max_side = max_side
        self.ids: list[int] = []
        self.descriptors: list[NDArray[np.uint8] | None] = []

    def _describe(self, rgb: NDArray[np.uint8]) -> NDArray[np.uint8] | None:
        _, descriptors = self.orb.detectAndCompute(_gray(rgb, self.max_side), None)
        return None if descriptors is None else np.asarray(descriptors, dtype=np.uint8)

    def add(self, specimen_id: int, rgb: NDArray[np.uint8]) -> None:
        self.ids.append(specimen_id)
        self.descriptors.append(self._describe(rgb))

    def search(self, rgb: NDArray[np.uint8], k: int) -> tuple[Ranked, dict[str, float]]:
        started = time.perf_counter()
        query = self._describe(rgb)
        described = time.perf_counter()
        scores = np.zeros(len(self.ids))
        if query is not None and len(query) >= 2:
            for index, train in enumerate(self.descriptors):
                if train is None or len(train) < 2:
                    continue
                pairs = self.matcher.knnMatch(query, train, k=2)
                scores[index] = sum(
                    1
                    for pair in pairs
                    if len(pair) == 2 and pair[0].distance < 0.75 * pair[1].distance
                )
        order = np.argsort(-scores, kind="stable")[:k]
        done = time.perf_counter()
        ranked = [(self.ids[i], float(scores[i])) for i in order]
        return ranked, {"features": (described - started) * 1e3, "match": (done - described) * 1e3}
