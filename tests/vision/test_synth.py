"""The synthetic world: seeded, realistic enough to measure on, and full of near-twins."""

from __future__ import annotations

import numpy as np
import pytest

from vision.synth.design import FORGERY_KINDS, forge, generate_designs, twin_fraction
from vision.synth.draw import render_impression
from vision.synth.photo import SPLITS as PROFILES
from vision.synth.photo import stamp_page
from vision.synth.world import SPLITS, SyntheticWorld


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return SyntheticWorld(seed=3, specimens=40)


def test_same_seed_same_world_pixel_for_pixel(world: SyntheticWorld) -> None:
    again = SyntheticWorld(seed=3, specimens=40)
    assert [d.design_id for d in again.designs] == [d.design_id for d in world.designs]
    assert np.array_equal(again.specimen(5), world.specimen(5))
    assert np.array_equal(again.query("hard", 2).photo.rgb, world.query("hard", 2).photo.rgb)


def test_other_seed_other_world(world: SyntheticWorld) -> None:
    other = SyntheticWorld(seed=4, specimens=40)
    assert [d.bcp_name for d in other.designs] != [d.bcp_name for d in world.designs]


def test_a_smaller_world_is_a_prefix_of_a_larger_one(world: SyntheticWorld) -> None:
    small = SyntheticWorld(seed=3, specimens=12)
    assert small.designs == world.designs[:12]
    assert np.array_equal(small.specimen(7), world.specimen(7))


def test_every_shape_and_a_quarter_near_twins() -> None:
    designs = generate_designs(0, 300)
    assert {d.shape for d in designs} >= {
        "rectangle",
        "rounded_rectangle",
        "circle",
        "oval",
        "triangle",
        "octagon",
    }
    assert twin_fraction(designs) >= 0.25
    assert {d.mode for d in designs} == {"air", "land", "sea", "rail"}


@pytest.mark.parametrize("split", SPLITS)
def test_every_split_gives_a_framed_photo_with_another_date_and_counter(
    world: SyntheticWorld, split: str
) -> None:
    for index in range(3):
        query = world.query(split, index)
        height, width = query.photo.rgb.shape[:2]
        assert {width, height} == set(PROFILES[split].frame)
        centre = query.photo.stamp_quad.mean(axis=0)
        assert 0 < centre[0] < width and 0 < centre[1] < height
        assert query.design_index is not None
        specimen = world.specimen_inking(query.design_index)
        assert query.inking.date != specimen.date
        assert query.inking.counter != specimen.counter


def test_the_pages_other_impressions_are_recorded_where_their_ink_is(
    world: SyntheticWorld,
) -> None:
    """On a blank white page every inked pixel lies in the target's or a neighbour's
    recorded corners, and every neighbour's corners hold ink."""
    import datetime as dt

    import cv2

    profile = PROFILES["hard"]  # two to four others, often overlapping the target
    rng = np.random.default_rng(5)
    height, width = int(88 * profile.ppm), int(125 * profile.ppm)
    blank = np.ones((height, width, 3), dtype=np.float32)
    for _ in range(3):
        page, target, neighbours = stamp_page(
            rng, world.designs[0], dt.date(2024, 5, 6), 7, world.designs[1:5], profile, blank
        )
        assert 2 <= len(neighbours) <= 4
        assert [n.design_id for n in neighbours] == [
            d.design_id for d in world.designs[1 : 1 + len(neighbours)]
        ]
        inked = page.min(axis=2) < 0.9
        covered = np.zeros((height, width), dtype=np.uint8)
        for quad in (target, *(n.quad for n in neighbours)):
            alone = np.zeros_like(covered)
            cv2.fillConvexPoly(alone, np.round(quad).astype(np.int32), 1)
            assert inked[alone.astype(bool)].mean() > 0.02  # each holds ink
            covered |= alone
        grown = cv2.dilate(covered, np.ones((5, 5), np.uint8)).astype(bool)  # bleed, smudge
        assert inked[~grown].sum() == 0


def test_a_querys_neighbours_are_library_designs_in_the_photo(world: SyntheticWorld) -> None:
    for index in range(4):
        query = world.query("phone", index)
        assert len(query.neighbour_indices) == len(query.photo.neighbours) >= 1
        for design_index, neighbour in zip(
            query.neighbour_indices, query.photo.neighbours, strict=True
        ):
            assert world.designs[design_index].design_id == neighbour.design_id
            assert design_index != query.design_index
            assert neighbour.quad.shape == (4, 2)


def test_harder_splits_are_harder_to_see(world: SyntheticWorld) -> None:
    """Ink contrast inside the stamp falls from scan to hard (averaged over queries)."""

    def contrast(split: str) -> float:
        values = []
        for index in range(4):
            photo = world.query(split, index).photo
            gray = photo.rgb.mean(axis=2)
            x0, y0 = photo.stamp_quad.min(axis=0).astype(int).clip(0)
            x1, y1 = photo.stamp_quad.max(axis=0).astype(int)
            values.append(float(np.std(gray[y0:y1, x0:x1])))
        return float(np.mean(values))

    assert contrast("scan") > contrast("hard")


def test_unknown_stamps_are_not_library_designs(world: SyntheticWorld) -> None:
    library = {(d.bcp_name, d.style, d.direction) for d in world.designs}
    for index in range(6):
        design = world.unknown_query(index).design
        assert (design.bcp_name, design.style, design.direction) not in library


@pytest.mark.parametrize("kind", FORGERY_KINDS)
def test_forgeries_change_the_impression(world: SyntheticWorld, kind: str) -> None:
    import datetime as dt

    design = world.designs[0]
    forged = forge(design, kind, np.random.default_rng(0))
    date = dt.date(2024, 1, 2)
    genuine_mask = render_impression(design, date, 5, 8).mask
    forged_mask = render_impression(forged, date, 5, 8).mask
    changed = genuine_mask.shape != forged_mask.shape or not np.allclose(genuine_mask, forged_mask)
    assert changed or forged.ink_rgb != design.ink_rgb
    pair = world.forgery_pair(FORGERY_KINDS.index(kind))
    assert pair.kind == kind
    assert not np.array_equal(pair.genuine.rgb, pair.forged.rgb)


def test_impression_regions_name_the_variable_parts(world: SyntheticWorld) -> None:
    import datetime as dt

    impression = render_impression(world.designs[1], dt.date(2024, 5, 6), 12, 10)
    assert {"border", "bcp", "date", "counter"} <= set(impression.regions)
    x0, y0, x1, y1 = impression.regions["date"]
    assert impression.mask[y0:y1, x0:x1].max() > 0.5


def test_an_impressions_text_keeps_its_size_in_millimetres_at_every_resolution(
    world: SyntheticWorld,
) -> None:
    """One rubber stamp's impressions share their text's size: a specimen scanned at one
    resolution and a photo's page at another must not differ in it (whole-pixel font sizes
    shrunk in steps made a BCP line up to 9% wider at one resolution than at another)."""
    import datetime as dt

    for design in world.designs[:12]:
        widths = []
        for ppm in (8.0, 9.5, 11.0, 12.0, 13.5):
            impression = render_impression(design, dt.date(2024, 5, 6), 12, ppm)
            x0, _, x1, _ = impression.regions["bcp"]
            widths.append((x1 - x0) / ppm)
        assert max(widths) / min(widths) < 1.02, (design.bcp_name, widths)
