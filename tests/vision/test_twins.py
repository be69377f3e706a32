"""Near-twins: a photo sides with the specimen it is of, where the two specimens differ."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import cv2
import numpy as np
import pytest

from vision import twins
from vision.features import StampFeatures, stamp_features
from vision.fields import variable_lines
from vision.localise import Frame, crop, primary_crop, specimen_box
from vision.synth.design import StampDesign
from vision.synth.photo import render_photo, render_specimen
from vision.synth.world import SyntheticWorld
from vision.twins import (
    Contender,
    KeptShapes,
    OwnAlignments,
    coverage,
    head_to_head,
    shape_of,
    weakest_word,
)
from vision.verify import align

WORLD = SyntheticWorld(seed=3, specimens=40)
TWINS = [(4, 5), (6, 7), (8, 9)]  # entry and exit stamps of one BCP, told apart by a word
MADE_UP = "TERAVANHOLMAR"  # letters of a made-up place name


def features_of(rgb: np.ndarray) -> StampFeatures:
    cropped, _ = primary_crop(rgb)
    return stamp_features(cropped)


def photographed_features(design: StampDesign, split: str) -> StampFeatures:
    """Features of one fixed photo of `design` (the same day, counter and camera for every
    design, so that only the design differs)."""
    photo = render_photo(np.random.default_rng(5), design, dt.date(2024, 3, 9), 17, [], split)
    return features_of(photo.rgb)


def card_features(rgb: np.ndarray) -> StampFeatures:
    """A specimen card's features as ingestion stores them: the stamp cropped, with its
    variable lines (date, counter)."""
    specimen = crop(rgb, specimen_box(rgb))
    features = stamp_features(specimen)
    return replace(features, variable=variable_lines([(specimen, features.ink)])[0])


def with_made_up_name(design: StampDesign) -> StampDesign:
    """`design` naming a made-up place of as many letters as its own."""
    place, rest = design.bcp_name.split(" ", 1)
    return replace(design, design_id="made-up", bcp_name=f"{MADE_UP[: len(place)]} {rest}")


def scan_and_twins(photographed: int, twin: int) -> tuple[StampFeatures, list[Contender]]:
    """A scan of `photographed`, and its twin and itself as verified contenders (by design
    number), in that order."""
    query = features_of(WORLD.query_of(photographed, "scan", 7).photo.rgb)
    contenders = []
    for design in (twin, photographed):
        specimen = stamp_features(WORLD.specimen(design))
        to_specimen, _ = align(query, specimen)
        assert to_specimen is not None
        contenders.append(Contender(specimen, to_specimen, specimen_id=design))
    return query, contenders


def test_a_photo_sides_with_its_own_design_against_its_twins() -> None:
    for photographed, twin in TWINS:
        assert WORLD.designs[photographed].bcp_code == WORLD.designs[twin].bcp_code
        query = features_of(WORLD.query_of(photographed, "scan", 7).photo.rgb)
        # the twin first, the design itself second, another BCP of the same style third
        rivals = [twin, photographed, TWINS[(TWINS.index((photographed, twin)) + 1) % 3][0]]
        contenders = []
        for design in rivals:
            specimen = stamp_features(WORLD.specimen(design))
            to_specimen, _ = align(query, specimen)
            if to_specimen is not None:  # as in search, only verified candidates contend
                contenders.append(Contender(specimen, to_specimen))
        assert len(contenders) >= 2
        totals = head_to_head(query.ink, contenders).preference()
        assert int(np.argmax(totals)) == 1, totals
        assert totals.sum() == pytest.approx(0.0)  # what one gains in a pair, the other loses


def test_unevenly_inked_photos_still_side_with_their_own_design() -> None:
    """A stamp pressed hard at its rim and lightly in its middle: the words the twins differ
    by are far fainter in the photo than in either specimen, yet still look like its own."""
    for photographed, twin in TWINS:
        query, contenders = scan_and_twins(photographed, twin)
        h, w = query.ink.shape
        pressure = np.ones((h, w))
        pressure[h // 6 : h - h // 6, w // 6 : w - w // 6] = 0.3
        totals = head_to_head((query.ink * pressure).astype(np.uint8), contenders).preference()
        assert totals[1] > totals[0], (photographed, totals)


def test_specimens_that_cannot_be_aligned_prefer_nobody() -> None:
    query = features_of(WORLD.query_of(4, "scan", 7).photo.rgb)
    own = stamp_features(WORLD.specimen(4))
    blank = StampFeatures(
        points=np.zeros((0, 2), np.float32),
        descriptors=np.zeros((0, 128), np.uint8),
        ink=np.zeros_like(own.ink),
    )
    to_own, _ = align(query, own)
    assert to_own is not None
    met = head_to_head(query.ink, [Contender(own, to_own), Contender(blank, to_own)])
    totals = met.preference()
    assert totals.tolist() == [0.0, 0.0]
    assert met.evidence(0).margin == 0.0 and met.evidence(0).likeness == 0.0  # nothing met


def test_a_stamp_not_in_the_library_looks_less_like_the_first_result_where_rivals_differ() -> None:
    """A made-up BCP in a library house style: where the library design and another BCP of
    its style differ (the name), the photo matches neither, so it looks less like the first
    result there than a photo of the design itself, even where it still sides with it."""
    gaps = []
    for index in (6, 8, 12):
        design = WORLD.designs[index]
        suffix = design.bcp_name.split(" ", 1)[-1]
        rival = replace(design, design_id="rival", bcp_name=f"KORVAL {suffix}")
        made_up = replace(design, design_id="made-up", bcp_name=f"TERAVAN HOLMAR {suffix}")
        specimens = [
            stamp_features(WORLD.specimen(index)),
            stamp_features(render_specimen(rival, dt.date(2023, 5, 2), 4)),
        ]
        for split in ("scan", "phone"):
            likeness = []
            for photographed in (design, made_up):
                query = photographed_features(photographed, split)
                contenders = []
                for specimen in specimens:
                    to_specimen, _ = align(query, specimen)
                    assert to_specimen is not None
                    contenders.append(Contender(specimen, to_specimen))
                likeness.append(head_to_head(query.ink, contenders).evidence(0).likeness)
            assert likeness[0] > likeness[1], (index, split, likeness)
            gaps.append(likeness[0] - likeness[1])
    assert np.mean(gaps) > 0.1, gaps


@pytest.mark.parametrize(
    ("indices", "layout"),
    [((6, 8, 12), "stack"), ((16, 24, 28), "arc")],
    ids=["name on a straight line", "name along the rim"],
)
def test_a_stamp_naming_another_bcp_looks_less_like_the_specimen_in_its_weakest_word(
    indices: tuple[int, ...], layout: str
) -> None:
    """No rival at all: a made-up BCP name in a library design looks like the specimen
    everywhere but in the name, whether the name runs straight or along the rim of a round
    stamp; a photo of the design itself looks like it in every word."""
    assert {WORLD.designs[i].style.layout for i in indices} == {layout}
    gaps = []
    for index in indices:
        design = WORLD.designs[index]
        made_up = with_made_up_name(design)
        features = card_features(WORLD.specimen(index))
        for split in ("scan", "phone"):
            words = []
            for photographed in (design, made_up):
                query = photographed_features(photographed, split)
                to_specimen, _ = align(query, features)
                assert to_specimen is not None
                words.append(weakest_word(query.ink, Contender(features, to_specimen)))
            assert words[0] > words[1], (index, split, words)
            gaps.append(words[0] - words[1])
    assert np.mean(gaps) > 0.2, gaps


def test_a_stroke_of_another_stamp_across_the_name_is_not_taken_for_another_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another impression's border crossing the BCP name of a phone photo (stamps overlap on
    a page) adds ink the specimen does not have there, as a different name would. The photo
    of the design still looks like it in every word (0.63), a made-up name crossed alike
    still does not (0.28); without leaving crossed letters out, the genuine photo's name
    looked unlike its own (0.18)."""
    index = 6
    design = WORLD.designs[index]
    made_up = with_made_up_name(design)
    features = card_features(WORLD.specimen(index))
    inking = WORLD.specimen_inking(index)  # the library card's, so only the name differs
    card = render_specimen(made_up, inking.date, inking.counter, seed=WORLD.seed * 100_003 + index)
    renamed = stamp_features(crop(card, specimen_box(card)))
    to_own, _ = align(renamed, features)
    assert to_own is not None
    own_ink = cv2.warpPerspective(renamed.ink, to_own, features.ink.shape[::-1])
    ys, xs = np.nonzero(cv2.absdiff(features.ink, own_ink) > 128)
    name = np.array([[[np.median(xs), np.median(ys)]]])  # where the two names differ

    def crossed(photographed: StampDesign) -> tuple[np.ndarray, Contender]:
        query = photographed_features(photographed, "phone")
        to_specimen, _ = align(query, features)
        assert to_specimen is not None
        x, y = cv2.perspectiveTransform(name, np.linalg.inv(to_specimen))[0, 0]
        ink = query.ink.copy()
        reach = max(ink.shape)
        ends = [(x - reach * 0.5, y - reach), (x + reach * 0.5, y + reach)]
        cv2.line(ink, *[(int(a), int(b)) for a, b in ends], 220, 3)
        return ink, Contender(features, to_specimen)

    genuine, made = crossed(design), crossed(made_up)
    assert weakest_word(*genuine) >= 0.6 > weakest_word(*made)
    monkeypatch.setattr(twins, "CROSSED_LETTERS", 0)
    assert weakest_word(*genuine) < 0.6


def test_coverage_tells_a_box_that_shows_part_of_the_stamp_or_holds_another() -> None:
    """A whole impression is covered and explained; a photo cut through the stamp shows only
    part of the specimen; a box holding another stamp beside it holds ink the specimen does
    not explain."""
    design = 6
    specimen = stamp_features(WORLD.specimen(design))
    rescan = WORLD.query_of(design, "scan", 7).photo.rgb
    stamp, _ = primary_crop(rescan)
    other = crop(WORLD.specimen(20), specimen_box(WORLD.specimen(20)))
    height = max(stamp.shape[0], other.shape[0])
    beside = np.full((height, stamp.shape[1] + other.shape[1] + 20, 3), 250, np.uint8)
    beside[: stamp.shape[0], : stamp.shape[1]] = stamp
    beside[: other.shape[0], stamp.shape[1] + 20 :] = other
    measured = {}
    for name, image in (
        ("whole", stamp),
        ("cut", stamp[:, : stamp.shape[1] // 2]),
        ("beside", beside),
    ):
        query = stamp_features(image)
        to_specimen, _ = align(query, specimen)
        assert to_specimen is not None, name
        measured[name] = coverage(query.ink, Contender(specimen, to_specimen))
    assert measured["whole"][0] > 0.95 and measured["whole"][1] < 0.1, measured
    assert 0.3 < measured["cut"][0] < 0.75, measured
    assert measured["beside"][0] > 0.95 and measured["beside"][1] > 0.3, measured
    # where: the specimen on the left of the box, the other stamp's ink on the right
    shown = measured["beside"]
    width = stamp_features(beside).ink.shape[1]
    assert shown.beside is not None, shown
    assert shown.own[2] < 0.6 * width and shown.beside[0] > 0.45 * width, shown


def test_the_more_prominent_of_two_impressions_in_a_box_is_the_one_photographed() -> None:
    """Of two stamps found in one box, the photo was more likely taken of the larger one
    nearer its centre: the other (smaller) stamp's prominence against the specimen's (the
    decision's `rival`) is small when the specimen is centred in the photo, and large when
    the other is."""
    design = 6
    specimen = stamp_features(WORLD.specimen(design))
    stamp, _ = primary_crop(WORLD.query_of(design, "scan", 7).photo.rgb)
    other = crop(WORLD.specimen(20), specimen_box(WORLD.specimen(20)))
    other = cv2.resize(other, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)  # a smaller stamp
    height = max(stamp.shape[0], other.shape[0])
    box_rgb = np.full((height, stamp.shape[1] + other.shape[1] + 20, 3), 250, np.uint8)
    box_rgb[: stamp.shape[0], : stamp.shape[1]] = stamp
    box_rgb[: other.shape[0], stamp.shape[1] + 20 :] = other
    query = stamp_features(box_rgb)
    to_specimen, _ = align(query, specimen)
    assert to_specimen is not None
    shown = coverage(query.ink, Contender(specimen, to_specimen))
    assert shown.beside is not None
    box_h, box_w = box_rgb.shape[:2]
    rivals = {}
    # the box on a photo twice its size, with the specimen's stamp at its centre, or the other
    photo = (2 * box_h, 2 * box_w, 3)
    middles = {"specimen": stamp.shape[1] // 2, "other": box_w - other.shape[1] // 2}
    for centred, middle in middles.items():
        frame = Frame(photo, (box_w - middle, box_h // 2, box_w, box_h), query.ink.shape)
        rivals[centred] = frame.prominence(shown.beside) / frame.prominence(shown.own)
    assert rivals["specimen"] < 0.7 <= rivals["other"], rivals


def test_a_rival_bearing_the_photos_own_date_does_not_win_on_it() -> None:
    """Each impression has its own date and counter. A rival specimen (the twin of the
    photographed design) inked on the very day and counter of the photo would win the date
    and counter lines; with the specimens' variable lines read (`vision.fields`), those
    lines are left out, and the word the twins differ by decides."""
    for photographed, twin in TWINS:
        query_stamp = WORLD.query_of(photographed, "phone", 3)
        query = features_of(query_stamp.photo.rgb)
        inking = query_stamp.inking
        images = [
            render_specimen(WORLD.designs[twin], inking.date, inking.counter, seed=1),
            WORLD.specimen(photographed),
        ]
        contenders = []
        for rgb in images:
            features = card_features(rgb)
            assert features.variable is not None and len(features.variable) >= 1
            to_specimen, _ = align(query, features)
            assert to_specimen is not None
            contenders.append(Contender(features, to_specimen))
        totals = head_to_head(query.ink, contenders).preference()
        assert totals[1] > totals[0], (photographed, totals)


def test_specimens_aligned_onto_each_other_are_kept_for_the_next_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two specimens' alignment from their own features is the same on every search that
    meets them: it is computed once, the meeting is unchanged, and it is forgotten when one
    of the specimens changes."""
    photographed, twin = TWINS[0]
    query, contenders = scan_and_twins(photographed, twin)
    calls = []

    def counted(*args: StampFeatures) -> tuple[np.ndarray | None, int]:
        calls.append(args)
        return align(*args)

    monkeypatch.setattr(twins, "align", counted)
    kept = OwnAlignments()
    first = head_to_head(query.ink, contenders, kept)
    assert len(calls) == 1 and len(kept) == 1  # one pair: the second specimen onto the first
    again = head_to_head(query.ink, contenders, kept)
    assert len(calls) == 1
    np.testing.assert_array_equal(first.margins, again.margins)
    kept.forget([photographed])
    assert len(kept) == 0
    head_to_head(query.ink, contenders, kept)
    assert len(calls) == 2
    uncached = head_to_head(query.ink, contenders)  # as a meeting without kept alignments
    np.testing.assert_array_equal(uncached.margins, first.margins)


def test_a_first_results_words_and_outline_are_kept_for_the_next_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A specimen's words and outline depend on it alone: derived once, kept by id, the
    same evidence as derived afresh, and forgotten when the specimen changes."""
    photographed, twin = TWINS[0]
    query, contenders = scan_and_twins(photographed, twin)
    first = contenders[1]
    afresh = (weakest_word(query.ink, first), coverage(query.ink, first))
    calls = []

    def counted(features: StampFeatures) -> twins.Shape:
        calls.append(features)
        return shape_of(features)

    monkeypatch.setattr(twins, "shape_of", counted)
    kept = KeptShapes()
    measured = [
        (weakest_word(query.ink, first, shape), coverage(query.ink, first, shape))
        for shape in (kept.of(first), kept.of(first))
    ]
    assert len(calls) == 1 and measured[0] == measured[1]
    assert measured[0] == afresh
    assert measured[0][1][0] > 0.9, measured  # its own scan: shown whole
    kept.forget([photographed])
    kept.of(first)
    assert len(calls) == 2


def test_piece_correlations_are_each_pieces_best_pearson_correlation_over_shifts() -> None:
    """Against np.corrcoef piece by piece and shift by shift (pieces of several sizes, one
    label without pixels, photos that are a shifted ink, its negative and noise)."""
    rng = np.random.default_rng(5)
    labels = np.zeros((40, 60), np.int32)
    labels[3:9, 4:30] = 1
    labels[12:30, 10:20] = 2
    labels[20:38, 35:58] = 4  # label 3 has no pixel
    ink = rng.random((40, 60)).astype(np.float32)
    other = rng.random((40, 60)).astype(np.float32)
    photo = np.roll(ink, (1, -1), axis=(0, 1))
    photo[12:30, 10:20] = 1 - photo[12:30, 10:20]
    photo[20:38, 35:58] = rng.random((18, 23))
    found = twins._piece_correlations(labels, 5, photo, (ink, other), slack=1)
    padded = np.pad(photo, 1, mode="edge")
    for k, values in enumerate((ink, other)):
        for piece in (1, 2, 4):
            ys, xs = np.nonzero(labels == piece)
            expected = max(
                np.corrcoef(padded[ys + 1 + dy, xs + 1 + dx], values[ys, xs])[0, 1]
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
            )
            assert found[k][piece] == pytest.approx(expected, abs=1e-9)
    assert found[0][1] == pytest.approx(1.0)  # the ink itself, one pixel off
    assert found[0][2] < 0.2 and found[0][4] < 0.5  # no shift makes them alike


def test_a_specimens_shape_survives_the_catalogue_and_is_used_as_stored() -> None:
    """Ingestion stores a specimen's words and outline with its features; read back, they
    are the ones derived, and the kept shapes take them as stored."""
    photographed, twin = TWINS[0]
    _, contenders = scan_and_twins(photographed, twin)
    features = contenders[1].features
    derived = shape_of(features)
    assert derived.words and derived.hull is not None
    stored = StampFeatures.from_bytes(replace(features, shape=derived).to_bytes()).shape
    assert stored is not None and len(stored.words) == len(derived.words)
    for read, made in zip(stored.words, derived.words, strict=True):
        assert read.dtype == np.int64 and np.array_equal(read, made)
    assert stored.hull is not None and np.array_equal(stored.hull, derived.hull)
    assert StampFeatures.from_bytes(features.to_bytes()).shape is None  # not stored: none
    blank = replace(features, shape=twins.Shape((), None))
    assert StampFeatures.from_bytes(blank.to_bytes()).shape == twins.Shape((), None)
    kept = KeptShapes()
    with_shape = replace(contenders[1], features=replace(features, shape=stored))
    assert kept.of(with_shape) is stored and len(kept) == 0
