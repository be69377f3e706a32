"""Finding stamp impressions on a page photo."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from tests.conftest import stamp_image
from vision.localise import _merge_nested, find_stamps, primary_crop, specimen_box
from vision.pipeline import FEATURES, DecisionModel, Ranked, decide
from vision.synth.world import SyntheticWorld
from vision.twins import TwinEvidence


def iou(a: tuple[int, int, int, int], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_the_stamp_in_a_scan_is_found() -> None:
    world = SyntheticWorld(seed=12, specimens=10)
    hits = 0
    for index in range(6):
        photo = world.query("scan", index).photo
        (x0, y0), (x1, y1) = photo.stamp_quad.min(axis=0), photo.stamp_quad.max(axis=0)
        regions = find_stamps(photo.rgb)
        hits += any(iou(r.box, (x0, y0, x1 - x0, y1 - y0)) > 0.5 for r in regions)
    assert hits >= 5


def test_two_separate_stamps_give_two_regions() -> None:
    page = np.full((600, 900, 3), 245, dtype=np.uint8)
    page[100:260, 80:240] = stamp_image("LEFT", size=160)
    page[300:460, 600:760] = stamp_image("RIGHT", colour=(160, 30, 40), size=160)
    regions = find_stamps(page)
    assert len(regions) >= 2
    centres = sorted((r.box[0] + r.box[2] / 2, r.box[1] + r.box[3] / 2) for r in regions[:2])
    assert centres[0][0] < 300 and centres[1][0] > 500


def test_a_blank_page_falls_back_to_the_whole_photo() -> None:
    blank = np.full((300, 400, 3), 240, dtype=np.uint8)
    crop, box = primary_crop(blank)
    assert box == (0, 0, 400, 300) and crop.shape == blank.shape


def test_decisions_follow_the_model_and_thresholds() -> None:
    # probability rises with the best score only (other coefficients zero)
    zeros = (0.0,) * (FEATURES - 1)
    model = DecisionModel(coefficients=(4.0, *zeros), match=0.9, no_match=0.2)
    strong = [Ranked(2.0, 0.9, 80, True), Ranked(0.5, 0.3, 10, True)]
    seen = TwinEvidence(word=0.8, covered=1.0)  # every word alike, the whole stamp shown
    assert decide(strong, seen, model)[0] == "match"
    unverified = [Ranked(2.0, 0.0, 0, False)]
    assert decide(unverified, seen, model)[0] == "uncertain"  # unverified is never a match
    assert decide([Ranked(0.0, 0.0, 0, True)], seen, model)[0] == "uncertain"
    assert decide([Ranked(-1.0, 0.0, 0, True)], seen, model)[0] == "no_match"
    assert decide([], seen, model) == ("no_match", 0.0)
    # however strong the score: not when the photo shows too little of the specimen, does
    # not look like it in one of its words, or the box holds another impression beside it
    assert decide(strong, replace(seen, covered=0.6), model)[0] == "uncertain"
    assert decide(strong, replace(seen, word=0.3), model)[0] == "uncertain"
    assert decide(strong, replace(seen, unexplained=0.5, rival=0.9), model)[0] == "uncertain"
    assert decide(strong, replace(seen, unexplained=0.1, rival=0.9), model)[0] == "match"
    # other ink in the box, but the photo was plainly taken of the result's impression
    assert decide(strong, replace(seen, unexplained=0.5, rival=0.3), model)[0] == "match"
    # a first result that does not clearly win over its near-twin is not a match
    near_twins = DecisionModel(coefficients=(0, 0, 0, 0, 0, 4.0, 0, 0, 0, 0), match=0.9)
    assert decide(strong, replace(seen, margin=1.5), near_twins)[0] == "match"
    assert decide(strong, replace(seen, margin=0.05), near_twins)[0] == "uncertain"
    # nor one the photo does not look like where it differs from its rivals
    likeness = DecisionModel(coefficients=(0, 0, 0, 0, 0, 0, 4.0, 0, 0, 0), match=0.9)
    assert decide(strong, replace(seen, likeness=0.8), likeness)[0] == "match"
    assert decide(strong, replace(seen, likeness=0.1), likeness)[0] == "uncertain"
    assert DecisionModel().match > 1  # uncalibrated: nothing is ever called a match


def broken_ring_specimen() -> np.ndarray:
    """A worn oval stamp: its border in four arcs with gaps, the words well inside."""
    image = np.full((400, 480, 3), 250, dtype=np.uint8)
    for start in (10, 100, 190, 280):
        cv2.ellipse(image, (240, 200), (220, 180), 0, start, start + 70, (40, 40, 140), 4)
    cv2.putText(image, "DEPARTED", (150, 190), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (40, 40, 140), 3)
    cv2.putText(image, "2024-03-09", (160, 240), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (40, 40, 140), 2)
    return image


def test_a_specimen_keeps_its_whole_stamp_when_the_border_is_broken() -> None:
    image = broken_ring_specimen()
    x, y, w, h = specimen_box(image)
    # the border spans x 20..460, y 20..380: all of it is kept
    assert x <= 22 and y <= 22 and x + w >= 458 and y + h >= 378


def test_overlapping_stamps_of_other_inks_are_told_apart() -> None:
    """A stamp pressed across another of another ink: the central one is found on its own,
    not the box around both (which searched as one stamp loses the design)."""
    world = SyntheticWorld(seed=12, specimens=10)
    colours = [np.array(design.ink_rgb, float) for design in world.designs]
    first, second = max(
        ((i, j) for i in range(10) for j in range(10) if i != j),
        key=lambda pair: float(np.linalg.norm(colours[pair[0]] - colours[pair[1]])),
    )
    page = np.full((700, 900, 3), 1.0)
    target = cv2.resize(world.specimen(first), (320, 320)).astype(float) / 255
    other = cv2.resize(world.specimen(second), (280, 280)).astype(float) / 255
    page[190:510, 290:610] *= target  # ink is translucent: inks multiply
    page[40:320, 450:730] *= other  # across the target's top right corner
    rgb = np.clip(page * 245, 0, 255).astype(np.uint8)
    box = find_stamps(rgb)[0].box
    assert iou(box, (290, 190, 320, 320)) > 0.6, box
    assert box[1] > 120 and box[0] + box[2] < 700, box  # the other stamp is left out


def test_a_dense_dark_impression_is_found_though_it_is_as_dark_as_the_desk() -> None:
    """A heavily inked stamp, dense enough that blurred it looks as dark as the desk beside
    the page, lies within the page: it is searched for, the desk is not."""
    world = SyntheticWorld(seed=12, specimens=10)
    for design in range(2, 7):
        page = np.full((700, 1000, 3), (238, 236, 228), float)
        page[:, :220] = (70, 58, 45)  # a desk beside the page
        stamp = cv2.resize(world.specimen(design), (300, 300))
        stamp = cv2.erode(stamp, np.ones((11, 11), np.uint8))  # strokes 11 px thicker
        page[200:500, 520:820] *= stamp.astype(float) / 255
        regions = find_stamps(np.clip(page, 0, 255).astype(np.uint8))
        assert regions and iou(regions[0].box, (520, 200, 300, 300)) > 0.8, (design, regions)
        assert all(region.box[0] >= 220 for region in regions), regions


def _merge_pairwise(boxes: list[list[int]]) -> list[list[int]]:
    """The plain definition: merge the first pair (in box order) of which the second lies
    60% inside the first, then look again from the start."""
    boxes = [list(box) for box in boxes]
    while True:
        for i, a in enumerate(boxes):
            for j, b in enumerate(boxes):
                ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
                iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
                if i != j and ix * iy >= 0.6 * (b[2] - b[0]) * (b[3] - b[1]):
                    a[:] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    break
            else:
                continue
            break
        else:
            return boxes


def test_nested_boxes_merge_as_the_pairwise_definition_says() -> None:
    rng = np.random.default_rng(11)
    merged_any = False
    for _ in range(200):
        count = int(rng.integers(0, 30))
        corners = rng.integers(0, 120, (count, 2))
        sizes = rng.integers(1, 60, (count, 2))
        boxes = [
            [int(x), int(y), int(x + w), int(y + h)]
            for (x, y), (w, h) in zip(corners, sizes, strict=True)
        ]
        expected = _merge_pairwise(boxes)
        assert _merge_nested(boxes) == expected, boxes
        merged_any |= len(expected) < len(boxes)
    assert merged_any
