"""A specimen's variable lines: its date and counter are read and marked, its names are not."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

from vision import fields
from vision.features import WORK_SIDE, StampFeatures, stamp_features
from vision.fields import lines_mask, read_lines, variable_lines
from vision.localise import crop, specimen_box
from vision.normalise import flatten, ink_map, resize_max
from vision.synth.photo import render_specimen
from vision.synth.world import SyntheticWorld

WORLD = SyntheticWorld(seed=3, specimens=40)
DESIGNS = (6, 11, 26)  # three house styles, their BCP names set straight


def specimen_crop(design: int, date: dt.date, counter: int) -> np.ndarray:
    rgb = render_specimen(WORLD.designs[design], date, counter, seed=design)
    return crop(rgb, specimen_box(rgb))


def changed_by_reinking(design: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A specimen crop; where another date and counter change its ink, at the working size;
    and where it has ink."""
    inking = WORLD.specimen_inking(design)
    renders = [
        render_specimen(WORLD.designs[design], date, counter, seed=design)
        for date, counter in (
            (inking.date, inking.counter),
            (inking.date + dt.timedelta(days=137), inking.counter % 90 + 7),
        )
    ]
    box = specimen_box(renders[0])  # both cut alike, so that only the ink differs
    crops = [crop(rgb, box) for rgb in renders]
    inks = [ink_map(flatten(resize_max(image, WORK_SIDE)[0])) for image in crops]
    return crops[0], np.abs(inks[0] - inks[1]) > 0.2, inks[0] > 0.3


@pytest.mark.parametrize("design", DESIGNS)
def test_the_date_and_counter_are_variable_and_the_names_are_not(design: int) -> None:
    specimen, changed, inked = changed_by_reinking(design)
    ink = stamp_features(specimen).ink
    [boxes] = variable_lines([(specimen, ink)])
    assert boxes is not None
    mask = lines_mask(boxes, ink.shape)
    assert (mask & changed).sum() >= 0.8 * changed.sum()  # the date and counter are covered
    assert (mask & inked & ~changed).sum() <= 0.25 * (inked & ~changed).sum()
    [lines] = read_lines([(specimen, ink)])
    place = WORLD.designs[design].bcp_name.split()[0]
    named = [line for line in lines if place in line.text]
    assert named, [line.text for line in lines]  # the BCP name is read, and it is not variable
    assert not any(line.variable for line in named)


def test_without_tesseract_nothing_is_marked_and_the_operator_is_told(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    inking = WORLD.specimen_inking(4)
    with caplog.at_level(logging.WARNING, logger=fields.__name__):
        specimen = specimen_crop(4, inking.date, inking.counter)
        assert variable_lines([(specimen, stamp_features(specimen).ink)]) == [None]
    assert "tesseract" in caplog.text


def test_variable_lines_survive_the_catalogue() -> None:
    inking = WORLD.specimen_inking(4)
    specimen = specimen_crop(4, inking.date, inking.counter)
    features = stamp_features(specimen)
    [boxes] = variable_lines([(specimen, features.ink)])
    assert boxes is not None and len(boxes) >= 1
    marked = StampFeatures(features.points, features.descriptors, features.ink, boxes)
    stored = StampFeatures.from_bytes(marked.to_bytes())
    assert stored.variable is not None and np.array_equal(stored.variable, boxes)
    assert StampFeatures.from_bytes(features.to_bytes()).variable is None  # not read: none


@pytest.mark.parametrize("behaviour", ["exit 3", "exec sleep 30"])
def test_a_failing_or_stuck_tesseract_is_reported_and_nothing_is_marked(
    behaviour: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    fake = tmp_path / "tesseract"
    fake.write_text(f"#!/bin/sh\n{behaviour}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.setattr(fields, "TIMEOUT_S", 1.0)
    inking = WORLD.specimen_inking(4)
    specimen = specimen_crop(4, inking.date, inking.counter)
    ink = stamp_features(specimen).ink
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger=fields.__name__):
        assert variable_lines([(specimen, ink)]) == [None]
        assert fields.read_alongside(ink, ink) is None
    assert time.perf_counter() - started < 10  # a stuck reader is stopped, not waited for
    assert "failed" in caplog.text


def test_a_batch_is_read_as_each_specimen_alone() -> None:
    """Lines of several specimens share Tesseract processes; each keeps its own readings."""
    specimens = []
    for design in DESIGNS:
        inking = WORLD.specimen_inking(design)
        specimen = specimen_crop(design, inking.date, inking.counter)
        specimens.append((specimen, stamp_features(specimen).ink))
    together = read_lines(specimens)
    assert together == [read_lines([item])[0] for item in specimens]
    assert all(together)  # every specimen has lines: the split runs through them


@pytest.mark.parametrize(
    ("specimen", "photo"),
    [
        ("26.01.2024", "11.05.2016"),  # another day, the same format
        ("12 JAN 2024", "| 03 SEP 2019}"),  # a date box's frame read as brackets
        ("14-11-2023", "14 - 01 - 2024."),  # spaces around the dashes, a trailing speck
        ("04 SEP 20", "‘4 JUL 21,"),  # a digit lost to a smudge
        ("2024-01-12", "2019\u201407\u201430"),  # a long dash read for a hyphen
        ("22.09.2021", "08,08,2016,"),  # commas read for full stops
    ],
)
def test_a_date_read_in_its_own_format_does_not_depart(specimen: str, photo: str) -> None:
    assert fields.date_format_distance(specimen, photo) == 0.0


@pytest.mark.parametrize(
    ("specimen", "photo"),
    [
        ("27/09/24", "03.07.2025"),  # separators and the year's length
        ("26.01.2024", "26-01-2024"),  # separators only
        ("14-11-2023", "2013-07-13"),  # the year first
        ("12 JAN 2024", "| 23/09/13}"),  # month in digits
        ("04 SEP 2020", "17 DEC 20"),  # a two-digit year
    ],
)
def test_a_date_in_another_format_departs(specimen: str, photo: str) -> None:
    distance = fields.date_format_distance(specimen, photo)
    assert distance is not None and distance >= 0.2


@pytest.mark.parametrize(
    "reading", ["No. 024 GC16", "C-43 CH94", "316", "QANDEC 19", "19 RH2025", ""]
)
def test_a_reading_that_is_no_date_is_no_evidence(reading: str) -> None:
    assert fields.date_parts(reading) is None
    assert fields.date_format_distance("26.01.2024", reading) is None
    assert fields.date_format_distance(reading, "26.01.2024") is None


def test_the_date_line_is_the_line_that_reads_as_a_date() -> None:
    """A counter with a security code is longer than a short date, but it is no date."""
    counter = fields.Line((0, 40, 90, 50), "No. 024 GC16")
    date = fields.Line((0, 20, 60, 30), "3.7.24")
    name = fields.Line((0, 0, 90, 10), "KUALA LUMPUR")
    assert fields.date_line([name, counter, date]) == date
    assert fields.date_line([name, counter]) == counter  # nothing reads as a date


@pytest.mark.parametrize(
    ("specimen", "photo", "kind", "alike"),
    [
        ("HORDANG INTL AIRPORT", "HORDANG INTL AIRPORT", "fixed", True),
        ("HORDANG INTL AIRPORT", "HORDANG 1NTL A1RPORT.", "fixed", True),  # two misread
        ("HORDANG INTL AIRPORT", "BALAKIT AIRPORT", "fixed", False),
        ("ENTRY", "EXIT", "fixed", False),
        ("HORDANG INTL AIRPORT", " | ", "fixed", None),  # nothing read on the photo
        ("24/03/26", "14/02/25", "date", None),
        ("(015)", "(926)", "counter", None),
    ],
)
def test_a_line_is_read_alike_or_otherwise(
    specimen: str, photo: str, kind: str, alike: bool | None
) -> None:
    reading = fields.LineReading((0, 0, 10, 10), specimen, photo)
    assert reading.kind == kind
    assert reading.alike is alike
    assert reading.legible


def test_a_lone_letter_of_a_rim_is_not_shown() -> None:
    assert not fields.LineReading((0, 0, 10, 10), " Y) ", "").legible
    assert fields.text_similarity("AB", "ab") == 1.0
    assert fields.text_similarity("", "") == 1.0
    assert fields.text_similarity("ABCD", "ABXD") == 0.75


def test_small_capitals_alike_in_size_and_letters_run_together_are_words() -> None:
    """Letters of a small capital font are nearly one size (a beaded border's test on size
    alone took them for beads), and small bold letters run together into blobs wider than
    tall; both are words. Most of a straight-line stamp's letter blobs lie in words."""
    inking = dt.date(2024, 3, 9), 17
    for design in (10, 18, 36):  # double and single borders, names on straight lines
        ink = stamp_features(specimen_crop(design, *inking)).ink
        characters = {tuple(box) for box in fields._characters(ink)}
        in_words = {tuple(box) for word in fields.words(ink) for box in word.tolist()}
        assert len(characters & in_words) >= 0.75 * len(characters), design


def test_words_follow_a_rim_and_a_beaded_border_is_none() -> None:
    """A round stamp's BCP name along its rim is found as words whose letters climb with the
    arc; the beads of a beaded border, as alike as letters are not, are no word."""
    inking = dt.date(2024, 3, 9), 17
    arc = fields.words(stamp_features(specimen_crop(16, *inking)).ink)  # ISULGAN RAILWAY STATION
    climbing = [
        word
        for word in arc
        if np.ptp((word[:, 1] + word[:, 3]) / 2)
        > 3 * np.median(np.maximum(word[:, 2] - word[:, 0], word[:, 3] - word[:, 1]))
    ]
    assert len(climbing) >= 2, arc
    for design in (8, 16):  # beaded borders, a triangle and a circle
        assert WORLD.designs[design].style.border == "beaded"
        for word in fields.words(stamp_features(specimen_crop(design, *inking)).ink):
            sides = np.concatenate([word[:, 2] - word[:, 0], word[:, 3] - word[:, 1]])
            assert np.ptp(sides) > 2, word  # not round marks of one size
