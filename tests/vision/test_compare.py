"""Comparison: alignment recovers the view, differences are found where they are, and
images that share nothing are refused clearly."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.calibrate import fit_thresholds
from benchmarks.compare_bench import Measured
from vision.alignment import AlignmentError
from vision.compare import Thresholds, compare_images, summary
from vision.synth.design import forge
from vision.synth.photo import render_specimen
from vision.synth.world import SyntheticWorld

WORLD = SyntheticWorld(seed=3, specimens=4)


def transformed(rgb: np.ndarray, angle: float, scale: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    return np.asarray(
        cv2.warpAffine(rgb, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE), np.uint8
    )


def test_a_rotated_smaller_copy_is_aligned_measured_and_consistent() -> None:
    specimen = WORLD.specimen(0)
    copy = transformed(specimen, angle=12.0, scale=0.8)
    result = compare_images(specimen, copy, mode="document")
    assert result.verdict == "consistent", summary(result)
    assert result.measurements.rotation_deg == pytest.approx(12.0, abs=1.0)
    assert result.measurements.scale == pytest.approx(0.8, abs=0.04)
    assert result.measurements.aspect_deviation < 0.02
    assert result.overlay.shape == result.heatmap.shape == result.a_work.shape


def test_an_added_mark_is_found_in_its_region() -> None:
    specimen = WORLD.specimen(1)
    altered = specimen.copy()
    height, width = altered.shape[:2]
    cv2.rectangle(altered, (width - 110, height - 100), (width - 40, height - 40), (20, 30, 160), 4)
    cv2.putText(
        altered, "X7", (width - 100, height - 55), cv2.FONT_HERSHEY_SIMPLEX, 1, (20, 30, 160), 3
    )
    result = compare_images(specimen, transformed(altered, 5.0, 0.9), mode="document")
    assert result.verdict == "differences found"
    assert "D4" in result.differing  # bottom right cell of the 4 x 4 grid
    assert not {"A1", "A2", "B1", "B2"} & set(result.differing)


def test_ignored_boxes_leave_a_difference_out() -> None:
    specimen = WORLD.specimen(1)
    altered = specimen.copy()
    height, width = altered.shape[:2]
    box = (width - 120, height - 110, 100, 90)
    cv2.rectangle(altered, box[:2], (box[0] + 70, box[1] + 60), (20, 30, 160), 4)
    result = compare_images(specimen, altered, mode="document", ignore=[box])
    assert "D4" not in result.differing


def test_images_that_share_nothing_are_refused() -> None:
    blank = np.full((300, 300, 3), 245, np.uint8)
    with pytest.raises(AlignmentError, match="cannot align"):
        compare_images(WORLD.specimen(0), blank)


def with_text(
    specimen: np.ndarray, text: str, left: float, size: float, weight: int, top: float = 0.5
) -> np.ndarray:
    """A copy of `specimen` with red `text` written from `left` (a share of the width), its
    baseline at `top` (a share of the height: across the middle unless told)."""
    altered = specimen.copy()
    height, width = altered.shape[:2]
    place = (int(width * left), int(height * top))
    cv2.putText(altered, text, place, cv2.FONT_HERSHEY_SIMPLEX, size, (20, 30, 160), weight)
    return altered


def test_a_comparison_is_judged_again_against_other_thresholds_without_measuring() -> None:
    specimen = WORLD.specimen(2)
    altered = with_text(specimen, "X7", 1 / 3, 1.2, 3)
    result = compare_images(specimen, transformed(altered, 4.0, 0.9))
    lax = result.judged(
        Thresholds(
            size=10.0,
            shift=10.0,
            line_departure=10.0,
            text_departure=10.0,
            ink_angle=90,
            date_format=10.0,  # the mark crosses the date line, whose reading it garbles
        )
    )
    strict = result.judged(Thresholds(variable_parts=0, size=1e-3, shift=1e-3, line_departure=-1.0))
    assert lax.verdict == "consistent", summary(lax)
    assert strict.verdict == "differences found"
    assert [r.difference for r in lax.regions] == [r.difference for r in result.regions]
    assert summary(strict)["regions"][0]["resize"] == result.regions[0].resize


def test_thresholds_come_from_the_calibration_file_or_default(tmp_path: Path) -> None:
    assert Thresholds.load(tmp_path / "missing.json") == Thresholds()
    path = tmp_path / "compare_thresholds.json"
    path.write_text(json.dumps({"thresholds": {**Thresholds().__dict__, "content": 0.5}}))
    assert Thresholds.load(path).content == 0.5


def test_calibration_keeps_genuine_photos_within_budget_and_catches_the_rest() -> None:
    specimen = WORLD.specimen(3)
    altered = with_text(specimen, "FAKE", 0.1, 2.0, 4, top=0.42)  # between two text lines
    genuine = [compare_images(specimen, transformed(specimen, a, 0.9)) for a in (3.0, -6.0)]
    forged = [compare_images(specimen, transformed(altered, a, 0.9)) for a in (3.0, -6.0)]
    measured = [Measured("copy", False, c, 1.0) for c in genuine] + [
        Measured("text", True, c, 1.0) for c in forged
    ]
    thresholds, evidence = fit_thresholds(measured)
    assert evidence["genuine_flag_rate"] == 0.0
    assert evidence["forged_flag_rate"] == 1.0
    assert all(c.judged(thresholds).verdict == "consistent" for c in genuine)
    assert all(c.judged(thresholds).verdict == "differences found" for c in forged)


def forged_rescan(kind: str, design_index: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A specimen, another clean impression of it and one of a forged variant (same date
    and counter, so nothing varies but what the forger changed), both turned and shrunk."""
    design = WORLD.designs[design_index]
    inking = WORLD.specimen_inking(design_index)
    genuine = render_specimen(design, inking.date, inking.counter, seed=11)
    forged = render_specimen(
        forge(design, kind, np.random.default_rng(5)), inking.date, inking.counter, seed=11
    )
    return (
        WORLD.specimen(design_index),
        transformed(genuine, 5.0, 0.85),
        transformed(forged, 5.0, 0.85),
    )


def test_text_in_another_font_falls_short_of_the_frame_and_is_found() -> None:
    specimen, genuine, forged = forged_rescan("font")
    strict = Thresholds(text_departure=0.1)  # clean rescans: no photo's blur to allow for
    same = compare_images(specimen, genuine, thresholds=strict)
    other = compare_images(specimen, forged, thresholds=strict)
    assert same.verdict == "consistent", summary(same)
    assert same.measurements.text_departure < 0.05
    assert other.measurements.text_departure > 3 * same.measurements.text_departure + 0.05
    assert "text" in other.differing, summary(other)
    assert other.measurements.frame_fidelity is not None
    assert other.measurements.frame_fidelity > 0.95  # the border is the specimen's


def test_text_set_with_other_spacing_is_found_at_its_size_against_the_frame() -> None:
    # a rectangle: the text is set 18% wider and, shrunk to fit, its letters 16% smaller
    specimen, genuine, forged = forged_rescan("spacing", 3)
    _, another_day, _ = date_rescans(3)  # another date and counter move two lines' lengths
    for same in (genuine, another_day):
        measured = compare_images(specimen, same).measurements
        assert measured.text_scale is not None
        assert measured.text_scale_departure < 0.03, measured.text_scale
    other = compare_images(specimen, forged, thresholds=Thresholds())
    assert other.measurements.text_scale_departure > 0.1, other.measurements.text_scale
    assert "text size" in other.differing
    assert summary(other)["measurements"]["text_scale"] == list(other.measurements.text_scale)


def test_another_ink_turns_the_ink_direction_whatever_its_darkness() -> None:
    specimen, genuine, forged = forged_rescan("ink")
    faint = np.asarray(255 - (255 - genuine.astype(np.float32)) * 0.55, np.uint8)
    for same in (genuine, faint):
        assert compare_images(specimen, same).measurements.ink_angle_deg < 5.0
    other = compare_images(specimen, forged, thresholds=Thresholds())
    assert other.measurements.ink_angle_deg > 15.0
    assert "ink colour" in other.differing


def date_rescans(design_index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A specimen, a clean impression of it on another day with another counter, and one of
    a variant printing its dates in another format (same day and counter), turned and shrunk."""
    design = WORLD.designs[design_index]
    inking = WORLD.specimen_inking(design_index)
    day, counter = inking.date - dt.timedelta(days=403), inking.counter % 40 + 11
    genuine = render_specimen(design, day, counter, seed=11)
    forged = render_specimen(
        forge(design, "date_format", np.random.default_rng(5)), day, counter, seed=11
    )
    return (
        WORLD.specimen(design_index),
        transformed(genuine, 5.0, 0.85),
        transformed(forged, 5.0, 0.85),
    )


@pytest.mark.parametrize("design_index", [0, 1, 2])
def test_a_date_in_another_format_is_found_and_another_date_is_not(design_index: int) -> None:
    specimen, genuine, forged = date_rescans(design_index)
    same = compare_images(specimen, genuine, thresholds=Thresholds())
    other = compare_images(specimen, forged, thresholds=Thresholds())
    assert same.measurements.dates is not None and other.measurements.dates is not None
    assert same.measurements.dates[0] == other.measurements.dates[0]  # the specimen's date
    assert same.measurements.date_format_departure < 0.15, same.measurements.dates
    assert "date format" not in same.differing, summary(same)
    assert other.measurements.date_format_departure > 0.35, other.measurements.dates
    assert "date format" in other.differing, summary(other)
    assert summary(other)["measurements"]["dates"] == list(other.measurements.dates)


def test_without_tesseract_dates_are_not_read_and_nothing_is_flagged_for_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("vision.fields.reading_available", lambda: False)
    specimen, _, forged = date_rescans(0)
    result = compare_images(specimen, forged, thresholds=Thresholds())
    assert result.measurements.dates is None
    assert result.measurements.date_format_departure == 0.0
    assert "date format" not in result.differing


@pytest.mark.parametrize("design_index", [1, 3])  # designs whose BCP name is a straight line
def test_a_bcp_name_the_photo_reads_otherwise_is_shown_line_by_line(design_index: int) -> None:
    """Every fixed line of a genuine impression reads as the specimen's; an impression that
    names another BCP reads otherwise on the name's line, which the officer is shown (the
    verdict is not changed by a reading)."""
    design = WORLD.designs[design_index]
    other = next(d.bcp_name for d in WORLD.designs if d.bcp_name != design.bcp_name)
    inking = WORLD.specimen_inking(design_index)
    day, counter = inking.date - dt.timedelta(days=403), inking.counter % 40 + 11
    genuine = transformed(render_specimen(design, day, counter, seed=11), 5.0, 0.85)
    renamed = transformed(
        render_specimen(replace(design, bcp_name=other), day, counter, seed=11), 5.0, 0.85
    )
    specimen = WORLD.specimen(design_index)
    same = compare_images(specimen, genuine, thresholds=Thresholds()).measurements.lines_read
    assert [line.specimen for line in same if line.kind == "fixed"], same
    assert all(line.alike for line in same if line.kind == "fixed"), same
    assert {line.kind for line in same} >= {"date", "counter"}

    result = compare_images(specimen, renamed, thresholds=Thresholds())
    (name,) = [line for line in result.measurements.lines_read if line.alike is False]
    assert name.specimen == design.bcp_name and name.photo == other
    assert summary(result)["measurements"]["lines_read"][
        result.measurements.lines_read.index(name)
    ] == {"specimen": design.bcp_name, "photo": other, "kind": "fixed", "alike": False}
