"""Search's decision model fitted on recorded searches, as `stamplib calibrate` fits it."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from app.search import Match, load_decision
from benchmarks.calibrate import FALSE_MATCH_BUDGET, VALIDATION_SEEDS, fit_decision, held_out
from benchmarks.harness import QueryRecord, searched_impressions
from vision.pipeline import DecisionModel, FusionWeights, decide
from vision.synth.world import SyntheticWorld
from vision.twins import TwinEvidence


def record(
    truth: int | None, first: int, twins: TwinEvidence, rng: np.random.Generator
) -> QueryRecord:
    """A search whose first two results are near-twins of equal strength: only how the first
    fared where they differ tells a right first result from a wrong one."""
    score = float(rng.normal(20, 2))
    shortlist = [
        Match(first, score, 0.1, 1.0, True, 40, 0.7),
        Match(first + 1, score - 0.5, 0.1, 0.9, True, 38, 0.7),
    ]
    return QueryRecord("phone", truth, shortlist, "uncertain", {}, twins)


def seen(margin: float, likeness: float) -> TwinEvidence:
    """Near-twin evidence of a first result shown whole and alike in every word."""
    return TwinEvidence(margin, likeness, word=0.8, covered=1.0)


def test_the_decision_learns_what_near_twins_tell() -> None:
    """Another BCP first: a narrow win over the right design. A stamp not in the library:
    a clear win over the rival (it looks even less like that one) but little likeness to the
    first result where they differ. Neither alone tells all right first results apart."""
    rng = np.random.default_rng(0)

    def twins(margin: tuple[float, float], likeness: tuple[float, float]) -> TwinEvidence:
        return seen(float(rng.uniform(*margin)), float(rng.uniform(*likeness)))

    right = [record(10 * i, 10 * i, twins((0.6, 1.8), (0.55, 0.9)), rng) for i in range(150)]
    wrong = [record(10 * i + 1, 10 * i, twins((-0.4, 0.5), (0.3, 0.8)), rng) for i in range(100)]
    unknown = [record(None, 10 * i, twins((0.6, 1.8), (-0.1, 0.45)), rng) for i in range(150)]
    model, evidence = fit_decision(right + wrong + unknown, FusionWeights())
    assert model.coefficients[5] > 0 and model.coefficients[6] > 0  # margin, likeness
    decisions = [
        decide([m.evidence() for m in r.shortlist], r.twins, model)[0]
        for r in right + wrong + unknown
    ]
    right_matched = np.mean([d == "match" for d in decisions[: len(right)]])
    others_matched = np.mean([d == "match" for d in decisions[len(right) :]])
    assert right_matched > 0.9
    # the budget is a quantile of 250 wrong first results: one or two may sit on it
    assert others_matched <= 2 * FALSE_MATCH_BUDGET
    assert evidence["genuine_queries"] == 250 and evidence["unknown_queries"] == 150
    assert evidence["top1"] == 0.6  # 150 of 250 genuine searches had the right design first
    assert evidence["unknown_false_match_rate"] <= 2 * FALSE_MATCH_BUDGET


def test_a_decision_calibrated_on_other_features_calls_nothing_a_match() -> None:
    """A sidecar written before the decision weighed how much of the first result the box
    shows has eight coefficients: it is refused (nothing is a match until `stamplib
    calibrate` runs), never misread."""
    stale = {"coefficients": [1.0] * 8, "mean": [0.0] * 8, "scale": [1.0] * 8, "match": 0.5}
    embedder = SimpleNamespace(model_id="stamplib-stamp", sidecar={"decision": {"model": stale}})
    _, model = load_decision(embedder)  # type: ignore[arg-type]
    assert model == DecisionModel()
    current = {**stale, "coefficients": [1.0] * 10, "mean": [0.0] * 10, "scale": [1.0] * 10}
    embedder.sidecar = {"decision": {"model": current}}
    _, model = load_decision(embedder)  # type: ignore[arg-type]
    assert model.match == 0.5 and len(model.coefficients) == 10


def test_a_genuine_stamp_searched_instead_of_an_unknown_one_is_not_a_false_match() -> None:
    """Localisation sometimes searches a genuine library stamp next to the unknown one the
    photo was taken of; matching it is right about what was searched. Were it labelled
    wrong, these matches (as strong as any right one) would push the match threshold above
    every genuine photo. A box that also holds the unknown stamp is about that stamp:
    matching the genuine one beside it there is a false match."""
    rng = np.random.default_rng(1)

    def twins() -> TwinEvidence:
        return seen(float(rng.uniform(0.6, 1.8)), float(rng.uniform(0.55, 0.9)))

    right = [record(10 * i, 10 * i, twins(), rng) for i in range(150)]
    beside = [
        replace(
            record(None, 10 * i, twins(), rng),
            target_in_box=False,
            neighbours_in_box=frozenset({10 * i}),
        )
        for i in range(40)
    ]
    merged = replace(beside[0], target_in_box=True)
    assert not merged.right_first()
    wrong = [
        record(10 * i + 1, 10 * i, seen(float(rng.uniform(-0.4, 0.3)), 0.3), rng)
        for i in range(100)
    ]
    assert all(r.right_first() for r in beside) and not any(r.right_first() for r in wrong)
    _, evidence = fit_decision(right + beside + wrong, FusionWeights())
    assert evidence["genuine_match_rate"] > 0.5
    assert evidence["unknown_false_match_rate"] == 0.0


def test_the_impressions_in_a_searched_box_are_the_stamps_it_holds() -> None:
    world = SyntheticWorld(seed=3, specimens=40)
    ids = [100 + i for i in range(40)]
    for index in range(10):
        query = world.unknown_query(index)
        height, width = query.photo.rgb.shape[:2]
        for design_index, neighbour in zip(
            query.neighbour_indices, query.photo.neighbours, strict=True
        ):
            (x0, y0), (x1, y1) = neighbour.quad.min(axis=0), neighbour.quad.max(axis=0)
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                continue  # wholly in the photo: the box around it holds all of it
            box = (int(x0), int(y0), int(x1 - x0) + 1, int(y1 - y0) + 1)
            _, neighbours = searched_impressions(query, box, ids)
            assert ids[design_index] in neighbours
            (tx0, ty0), (tx1, ty1) = query.photo.stamp_quad.min(0), query.photo.stamp_quad.max(0)
            on_target = (int(tx0), int(ty0), int(tx1 - tx0) + 1, int(ty1 - ty0) + 1)
            assert searched_impressions(query, on_target, ids)[0]
            corner = (0, 0, 4, 4) if x0 > 8 or y0 > 8 else (width - 4, height - 4, 4, 4)
            assert searched_impressions(query, corner, ids) == (False, frozenset())
            return
    raise AssertionError("no neighbour wholly in the first ten unknown photos")


def test_stamps_cut_off_at_the_edge_are_never_matched_and_held_out_figures_are_reported() -> None:
    """Unknown stamps cut off at the photo's edge, their first results as strong as right
    ones: the photo shows too little of them to be called a match, and right ones still
    are. The decision fitted on each world alone is judged on the other."""
    rng = np.random.default_rng(2)

    def world() -> list[QueryRecord]:
        right = [record(10 * i, 10 * i, seen(1.0, 0.8), rng) for i in range(100)]
        cut = [record(None, 10 * i, replace(seen(1.0, 0.8), covered=0.5), rng) for i in range(100)]
        return right + cut

    worlds = [world(), world()]
    _, evidence = fit_decision(worlds[0] + worlds[1], FusionWeights())
    assert evidence["genuine_match_rate"] > 0.9
    assert evidence["phone_match_rate"] == evidence["genuine_match_rate"]
    assert evidence["unknown_false_match_rate"] == 0.0
    judgements = held_out(worlds, FusionWeights())
    assert [j["fitted_on"] for j in judgements] == list(VALIDATION_SEEDS)
    assert all(j["genuine_match_rate"] > 0.9 for j in judgements)
    assert all(j["unknown_false_match_rate"] == 0.0 for j in judgements)
