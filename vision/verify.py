"""Geometric verification of a shortlist: align the query onto each specimen, then compare.

Two pieces of evidence per candidate: RANSAC inliers of SIFT matches on the ink maps
(distinctive words and marks), and how closely the aligned query's stroke outlines
follow the specimen's. How they are weighed is calibrated, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.features import StampFeatures
from vision.normalise import byte_percentile

MIN_INLIERS = 10
RATIO = 0.82
CHAMFER_PX = 3.0


@dataclass(frozen=True)
class Verification:
    verified: bool
    inliers: int
    agreement: float  # 0..1: how well aligned query ink and specimen ink agree
    homography: NDArray[np.float64] | None  # maps query working coords to specimen working coords
    # the inlier correspondences: query keypoint numbers and the specimen keypoints they match
    matched: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None


_MATCHER = cv2.BFMatcher(cv2.NORM_L2)


def homography_from(
    source: NDArray[np.float32], target: NDArray[np.float32]
) -> tuple[NDArray[np.float64] | None, int]:
    """RANSAC homography from point pairs; None unless a plausible view with enough inliers."""
    homography, inliers = _fit(source, target)
    return homography, int(inliers.sum())


def _fit(
    source: NDArray[np.float32], target: NDArray[np.float32]
) -> tuple[NDArray[np.float64] | None, NDArray[np.bool_]]:
    """`homography_from`, with which pairs are inliers."""
    none = np.zeros(len(source), dtype=bool)
    if len(source) < MIN_INLIERS:
        return None, none
    homography, mask = cv2.findHomography(
        source, target, cv2.USAC_MAGSAC, 4.0, maxIters=2000, confidence=0.995
    )
    if homography is None or mask is None:
        return None, none
    inliers = mask.ravel().astype(bool)
    matrix = np.asarray(homography, dtype=np.float64)
    if int(inliers.sum()) < MIN_INLIERS or not plausible(matrix):
        return None, inliers
    return matrix, inliers


def align(query: StampFeatures, specimen: StampFeatures) -> tuple[NDArray[np.float64] | None, int]:
    if len(query.descriptors) < 4 or len(specimen.descriptors) < 4:
        return None, 0
    pairs = _MATCHER.knnMatch(
        query.descriptors.astype(np.float32), specimen.descriptors.astype(np.float32), k=2
    )
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None, len(good)
    source = query.points[[m.queryIdx for m in good]]
    target = specimen.points[[m.trainIdx for m in good]]
    return homography_from(source, target)


def plausible(homography: NDArray[np.float64]) -> bool:
    """A camera view of a flat stamp: no mirror, moderate scale change and perspective."""
    affine = homography[:2, :2] / homography[2, 2]
    det = float(np.linalg.det(affine))
    if det <= 0:
        return False
    scale = det**0.5
    singular = np.linalg.svd(affine, compute_uv=False)
    return (
        0.2 < scale < 5
        and singular[0] / singular[1] < 3
        and float(np.abs(homography[2, :2]).max()) < 0.01
    )


def agreement(
    query_ink: NDArray[np.uint8], specimen_ink: NDArray[np.uint8], homography: NDArray[np.float64]
) -> float:
    """How closely the aligned query's stroke edges follow the specimen's (0..1).

    Edges, not ink areas: bold words of the same length cover the same area, but their
    letters' outlines differ. The score is the mean closeness of the specimen's edge
    pixels to the query's, within a few pixels.
    """
    h, w = specimen_ink.shape
    warped = np.asarray(cv2.warpPerspective(query_ink, homography, (w, h)), dtype=np.uint8)
    distance = cv2.distanceTransform(255 - _edges(warped), cv2.DIST_L2, 3)
    specimen_edges = _edges(specimen_ink) > 0
    if int(specimen_edges.sum()) < 20:
        return 0.0
    closeness = np.clip(1.0 - distance[specimen_edges] / CHAMFER_PX, 0.0, 1.0)
    return float(closeness.mean())


def _edges(ink: NDArray[np.uint8]) -> NDArray[np.uint8]:
    strokes = _strokes(ink) * 255
    return np.asarray(
        cv2.morphologyEx(strokes, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)), np.uint8
    )


def _strokes(ink: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Ink strokes as a 0/1 map: above a level set relative to the strongest ink."""
    level = max(40.0, byte_percentile(ink, 99) * 0.35)
    return (ink > level).astype(np.uint8)


def verify(
    query: StampFeatures,
    specimen: StampFeatures,
    pairs: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None,
) -> Verification:
    """Align and compare; `pairs` (query, specimen keypoint numbers) skip descriptor matching."""
    matched = None
    if pairs is None:
        homography, inliers = align(query, specimen)
    else:
        valid = pairs[1] < len(specimen.points)
        query_points, specimen_points = pairs[0][valid], pairs[1][valid]
        homography, kept = _fit(query.points[query_points], specimen.points[specimen_points])
        inliers, matched = int(kept.sum()), (query_points[kept], specimen_points[kept])
    if homography is None:
        return Verification(False, inliers, 0.0, None)
    return Verification(
        True, inliers, agreement(query.ink, specimen.ink, homography), homography, matched
    )
