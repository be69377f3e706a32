"""Aligning image B onto image A: SIFT on the ink maps, the ratio test, one match per
keypoint, a RANSAC homography refined by ECC; a clear `AlignmentError` when impossible."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.verify import plausible

MIN_INLIERS = 12
RATIO = 0.8
ECC_SCALE = 0.5  # ECC refines the view at half the working size: four times faster


class AlignmentError(ValueError):
    """The two images cannot be aligned (too few shared features, or an impossible view)."""


_SIFT = cv2.SIFT.create(nfeatures=2000, contrastThreshold=0.02)
_MATCHER = cv2.BFMatcher(cv2.NORM_L2)


def initial_homography(
    ink_a: NDArray[np.float32], ink_b: NDArray[np.float32]
) -> tuple[NDArray[np.float64], int]:
    a8 = (255 - ink_a * 255).astype(np.uint8)
    b8 = (255 - ink_b * 255).astype(np.uint8)
    keys_a, desc_a = _SIFT.detectAndCompute(a8, None)
    keys_b, desc_b = _SIFT.detectAndCompute(b8, None)
    if desc_a is None or desc_b is None or len(keys_a) < 4 or len(keys_b) < 4:
        raise AlignmentError("cannot align: one image shows too little ink or detail")
    pairs = _MATCHER.knnMatch(desc_b, desc_a, k=2)
    good = _one_to_one(
        [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    )
    if len(good) < MIN_INLIERS:
        raise AlignmentError(f"cannot align: only {len(good)} matching points (need {MIN_INLIERS})")
    source = np.array([keys_b[m.queryIdx].pt for m in good], np.float32)
    target = np.array([keys_a[m.trainIdx].pt for m in good], np.float32)
    homography, mask = cv2.findHomography(source, target, cv2.USAC_MAGSAC, 4.0, maxIters=4000)
    inliers = int(mask.sum()) if mask is not None else 0
    if homography is None or inliers < MIN_INLIERS:
        raise AlignmentError(
            f"cannot align: only {inliers} consistent matches (need {MIN_INLIERS})"
        )
    matrix = np.asarray(homography, dtype=np.float64)
    if not plausible(matrix):
        raise AlignmentError("cannot align: the only consistent view is physically impossible")
    return matrix, inliers


def _one_to_one(matches: list[cv2.DMatch]) -> list[cv2.DMatch]:
    """The closest match for each of A's keypoints. A photo's page pattern or a repeated
    mark can send many of B's keypoints to one of A's; RANSAC then settles on a view that
    squeezes B to a point, which is refused as impossible, and the pair cannot be aligned."""
    best: dict[int, cv2.DMatch] = {}
    for match in matches:
        if match.trainIdx not in best or match.distance < best[match.trainIdx].distance:
            best[match.trainIdx] = match
    return list(best.values())


def refine(
    ink_a: NDArray[np.float32], ink_b: NDArray[np.float32], homography: NDArray[np.float64]
) -> tuple[NDArray[np.float64], float | None]:
    """ECC on blurred ink maps, starting from the feature homography; kept unless the
    refined view is impossible. It runs at ECC_SCALE of the working size (the fine
    placement of each line is left to the comparison's slack)."""
    a, b = (
        cv2.resize(
            cv2.GaussianBlur(ink, (0, 0), 1.5),
            None,
            fx=ECC_SCALE,
            fy=ECC_SCALE,
            interpolation=cv2.INTER_AREA,
        )
        for ink in (ink_a, ink_b)
    )
    to_small = np.diag([ECC_SCALE, ECC_SCALE, 1.0])
    small = to_small @ homography @ np.linalg.inv(to_small)
    warp = np.linalg.inv(small).astype(np.float32)  # ECC warps A's grid into B
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    try:
        ecc, refined = cv2.findTransformECC(  # type: ignore[call-overload]
            a, b, warp, cv2.MOTION_HOMOGRAPHY, criteria, None, 5
        )
    except cv2.error:
        return homography, None
    candidate = np.linalg.inv(to_small) @ np.linalg.inv(refined.astype(np.float64)) @ to_small
    candidate /= candidate[2, 2]
    if not plausible(candidate):
        return homography, None
    return candidate, float(ecc)
