"""From a stamp image to what search compares: crop, model input, embedding, local features.

Specimens and query photos go through the same steps, so nothing a query sees was
prepared differently for the library.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from vision.embedder import Embedder
from vision.features import StampFeatures, stamp_features
from vision.localise import crop, primary_crop
from vision.normalise import model_input
from vision.verify import Verification

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class StampVectors:
    embedding: NDArray[np.float32]
    features: StampFeatures
    box: Box


@dataclass
class Timings:
    stages: dict[str, float] = field(default_factory=dict)
    _last: float = field(default_factory=time.perf_counter)

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = self.stages.get(stage, 0.0) + (now - self._last) * 1e3
        self._last = now


def stamp_crop(rgb: NDArray[np.uint8], box: Box | None = None) -> tuple[NDArray[np.uint8], Box]:
    """A user-given box wins; otherwise the most likely impression."""
    if box is not None:
        return crop(rgb, box), box
    return primary_crop(rgb)


def vectorise(
    embedder: Embedder,
    images: list[NDArray[np.uint8]],
    boxes: list[Box | None] | None = None,
    timings: Timings | None = None,
) -> list[StampVectors]:
    """Embeddings and features of a batch of stamp images (specimens or photos)."""
    timings = timings or Timings()
    boxes = boxes or [None] * len(images)
    crops = [stamp_crop(rgb, box) for rgb, box in zip(images, boxes, strict=True)]
    timings.mark("localise")
    side = embedder.image_size
    inputs = np.stack([model_input(cropped, side) for cropped, _ in crops])
    timings.mark("normalise")
    embeddings = embedder.embed_images(inputs)
    timings.mark("embed")
    features = [stamp_features(cropped) for cropped, _ in crops]
    timings.mark("features")
    return [
        StampVectors(embedding=e, features=f, box=b)
        for e, f, (_, b) in zip(embeddings, features, crops, strict=True)
    ]


@dataclass(frozen=True)
class FusionWeights:
    """How similarity, inliers and edge agreement add up; calibrated and kept with the model."""

    embedding: float = 1.0
    inliers: float = 0.08
    agreement: float = 0.5
    unverified_penalty: float = 0.3


@dataclass(frozen=True)
class DecisionThresholds:
    match: float
    no_match: float
    margin: float = 0.0  # best minus second best below this: uncertain (near-twins too close)


def fused_score(
    similarity: float, verification: Verification | None, weights: FusionWeights
) -> float:
    if verification is None or not verification.verified:
        return weights.embedding * similarity - weights.unverified_penalty
    return (
        weights.embedding * similarity
        + weights.inliers * float(np.log1p(verification.inliers))
        + weights.agreement * verification.agreement
    )


def decide(scores: list[float], verified_first: bool, thresholds: DecisionThresholds) -> str:
    """`match`, `uncertain` or `no_match` from the fused scores of the ranked shortlist."""
    if not scores or scores[0] < thresholds.no_match:
        return "no_match"
    second = scores[1] if len(scores) > 1 else -np.inf
    if verified_first and scores[0] >= thresholds.match and scores[0] - second >= thresholds.margin:
        return "match"
    return "uncertain"
