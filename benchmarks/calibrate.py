"""Calibration of score fusion and decision thresholds on a validation world.

The validation world has its own seed, never the benchmark's, so thresholds are not
fitted to the figures they are judged by.
"""

from __future__ import annotations

import itertools
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from app.search import write_decision
from benchmarks.harness import QueryRecord, build_library, search_query
from vision.pipeline import DecisionThresholds, FusionWeights, fused_score
from vision.synth.world import SyntheticWorld
from vision.verify import Verification

log = logging.getLogger(__name__)
VALIDATION_SEED = 7777
UNKNOWN_MATCH_BUDGET = 0.005  # at most 0.5% of unknown stamps above the match threshold


def _rescored(record: QueryRecord, weights: FusionWeights) -> list[tuple[float, int]]:
    scored = [
        (
            fused_score(
                m.similarity, Verification(m.verified, m.inliers, m.agreement, None), weights
            ),
            m.specimen_id,
        )
        for m in record.shortlist
    ]
    return sorted(scored, reverse=True)


def _top1(records: list[QueryRecord], weights: FusionWeights) -> float:
    return float(np.mean([_rescored(r, weights)[0][1] == r.truth for r in records if r.shortlist]))


def fit(records: list[QueryRecord]) -> tuple[FusionWeights, DecisionThresholds, dict[str, Any]]:
    genuine = [r for r in records if r.truth is not None]
    unknown = [r for r in records if r.truth is None]
    grid = [
        FusionWeights(inliers=i, agreement=a)
        for i, a in itertools.product(
            (0.0, 0.03, 0.06, 0.1, 0.15, 0.25), (0.0, 0.25, 0.5, 1.0, 2.0)
        )
    ]
    weights = max(grid, key=lambda w: _top1(genuine, w))
    genuine_top = np.array([_rescored(r, weights)[0][0] for r in genuine if r.shortlist])
    correct = np.array([_rescored(r, weights)[0][1] == r.truth for r in genuine if r.shortlist])
    unknown_top = np.array([_rescored(r, weights)[0][0] for r in unknown if r.shortlist])
    # The match threshold keeps unknown stamps (and wrongly ranked genuine ones) below it.
    impostors = np.concatenate([unknown_top, genuine_top[~correct]])
    match = (
        float(np.quantile(impostors, 1 - UNKNOWN_MATCH_BUDGET)) + 1e-3 if len(impostors) else 0.0
    )
    no_match = min(float(np.quantile(genuine_top, 0.02)), match) if len(genuine_top) else match
    thresholds = DecisionThresholds(match=round(match, 4), no_match=round(no_match, 4))
    evidence = {
        "validation_seed": VALIDATION_SEED,
        "genuine_queries": len(genuine),
        "unknown_queries": len(unknown),
        "top1": round(_top1(genuine, weights), 4),
        "genuine_match_rate": round(float(np.mean(genuine_top >= match)), 4),
        "unknown_false_match_rate": round(float(np.mean(unknown_top >= match)), 4)
        if len(unknown_top)
        else 0.0,
    }
    return weights, thresholds, evidence


def calibrate(
    work: Path, *, specimens: int = 400, queries: int = 120, unknown: int = 200
) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    world = SyntheticWorld(seed=VALIDATION_SEED, specimens=specimens)
    services, specimen_ids, _ = build_library(world, work, with_search=True)
    records = [
        search_query(services, world.query(split, i), specimen_ids)
        for split in ("phone", "hard")
        for i in range(queries)
    ]
    records += [
        search_query(services, world.unknown_query(i), specimen_ids) for i in range(unknown)
    ]
    weights, thresholds, evidence = fit(records)
    write_decision(services.embedder, weights, thresholds, evidence)
    services.close()
    shutil.rmtree(work, ignore_errors=True)
    log.info("calibrated: %s %s %s", weights, thresholds, evidence)
    return {"weights": weights.__dict__, "thresholds": thresholds.__dict__, "evidence": evidence}
