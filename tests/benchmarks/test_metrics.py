"""Metric code against cases computed by hand."""

from __future__ import annotations

import pytest

from benchmarks.metrics import (
    average_precision,
    decision_summary,
    mean_average_precision,
    percentiles,
    recall_at_k,
    retrieval_summary,
)

RANKED = [[7, 3, 9], [3, 7, 9], [9, 8, 1], [1, 2, 3]]
TRUTH = [7, 7, 1, 5]


def test_recall_at_k_by_hand() -> None:
    assert recall_at_k(RANKED, TRUTH, 1) == 0.25  # only query 0 has its item first
    assert recall_at_k(RANKED, TRUTH, 2) == 0.5  # query 1 at rank 2
    assert recall_at_k(RANKED, TRUTH, 3) == 0.75  # query 2 at rank 3; query 3 never


def test_average_precision_by_hand() -> None:
    assert average_precision([7, 3, 9], {7}) == 1.0
    assert average_precision([3, 7, 9], {7}) == 0.5
    assert average_precision([1, 2, 3], {5}) == 0.0
    # two relevant items at ranks 1 and 3: (1/1 + 2/3) / 2
    assert average_precision([4, 0, 6], {4, 6}) == pytest.approx((1 + 2 / 3) / 2)
    assert mean_average_precision(RANKED, TRUTH) == pytest.approx((1 + 0.5 + 1 / 3 + 0) / 4)


def test_summary_and_percentiles() -> None:
    summary = retrieval_summary(RANKED, TRUTH)
    assert summary["recall@1"] == 0.25
    assert summary["recall@10"] == 0.75
    assert summary["queries"] == 4
    assert percentiles([1, 2, 3, 4, 100]) == {"p50": 3.0, "p95": 80.8}


def test_decision_rates() -> None:
    summary = decision_summary(["match", "match", "uncertain", "match"], ["no_match", "match"])
    assert summary["genuine_match_rate"] == 0.75
    assert summary["unknown_false_match_rate"] == 0.5


def test_an_unknown_photo_matched_to_a_genuine_stamp_it_shows_is_counted_apart() -> None:
    """Of four unknown photos, two decided `match`: one to a library stamp that lay in the
    box searched (right about what was searched), one to a specimen not in the photo."""
    summary = decision_summary(
        ["match"], ["match", "match", "no_match", "uncertain"], [True, False, False, False]
    )
    assert summary["unknown_false_match_rate"] == 0.25
    assert summary["unknown_neighbour_match_rate"] == 0.25
