"""Retrieval and decision metrics, written to be checked by hand."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

KS = (1, 5, 10)


def recall_at_k(ranked: Sequence[Sequence[Hashable]], truth: Sequence[Hashable], k: int) -> float:
    """Share of queries whose true item is among the first k results."""
    if not truth:
        return 0.0
    hits = sum(item in list(results)[:k] for results, item in zip(ranked, truth, strict=True))
    return hits / len(truth)


def average_precision(results: Sequence[Hashable], relevant: set[Hashable]) -> float:
    """Mean of precision at each rank where a relevant item appears, over all relevant items."""
    if not relevant:
        return 0.0
    found, total = 0, 0.0
    for rank, item in enumerate(results, start=1):
        if item in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


def mean_average_precision(
    ranked: Sequence[Sequence[Hashable]], truth: Sequence[Hashable]
) -> float:
    if not truth:
        return 0.0
    return float(np.mean([average_precision(r, {t}) for r, t in zip(ranked, truth, strict=True)]))


def retrieval_summary(
    ranked: Sequence[Sequence[Hashable]], truth: Sequence[Hashable]
) -> dict[str, float]:
    summary = {f"recall@{k}": round(recall_at_k(ranked, truth, k), 4) for k in KS}
    summary["mAP"] = round(mean_average_precision(ranked, truth), 4)
    summary["queries"] = len(truth)
    return summary


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50": 0.0, "p95": 0.0}
    array = np.asarray(values_ms, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(array, 50)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
    }


def decision_summary(
    genuine: Sequence[str], unknown: Sequence[str], unknown_right: Sequence[bool] | None = None
) -> dict[str, float]:
    """How often genuine queries are decided `match`, and unknown stamps wrongly are.

    `unknown_right[i]`: the unknown photo's first result was a genuine library stamp that
    localisation searched instead of the unknown one (`QueryRecord.right_first`); such a
    `match` is right about what was searched, and counted apart."""

    def rate(decisions: Sequence[str]) -> float:
        return round(sum(d == "match" for d in decisions) / len(decisions), 4) if decisions else 0.0

    right = list(unknown_right) if unknown_right is not None else [False] * len(unknown)
    wrong = [d for d, r in zip(unknown, right, strict=True) if not r]
    false_matches = sum(d == "match" for d in wrong)
    return {
        "genuine_match_rate": rate(genuine),
        "unknown_false_match_rate": round(false_matches / len(unknown), 4) if unknown else 0.0,
        "unknown_neighbour_match_rate": round(rate(unknown) - false_matches / len(unknown), 4)
        if unknown
        else 0.0,
        "genuine_queries": len(genuine),
        "unknown_queries": len(unknown),
    }
