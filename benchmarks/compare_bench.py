"""The comparison benchmark: genuine phone photos against forged variants of the same design.

For each pair, the photo's impression is cropped as search crops it and compared with the
library specimen. Reported: how many genuine photos are flagged `differences found`
(should be few), how many forged ones are (should be most), per forgery kind, the area
under the ROC curve of the comparison score, and the time of one comparison. Also how the
fixed text lines (BCP name, direction word) of genuine photos read against their specimens'
(`lines`): what the officer sees line by line, which does not enter the verdict.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.metrics import percentiles
from vision.alignment import AlignmentError
from vision.compare import THRESHOLDS, Comparison, Thresholds, compare_images
from vision.localise import primary_crop
from vision.synth.world import SyntheticWorld

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    kind: str
    forged: bool
    flagged: bool
    score: float
    ms: float
    # each fixed text line of the specimen: read alike on the photo, otherwise, or not at all
    fixed_lines: tuple[bool | None, ...] = ()


@dataclass(frozen=True)
class Measured:
    """One comparison of a pair's photo with the specimen; None when it could not be aligned."""

    kind: str
    forged: bool
    comparison: Comparison | None
    ms: float


def measure_pairs(world: SyntheticWorld, pairs: int) -> list[Measured]:
    measured = []
    for index in range(pairs):
        pair = world.forgery_pair(index)
        specimen = world.specimen(pair.design_index)
        for forged, photo in ((False, pair.genuine), (True, pair.forged)):
            crop, _ = primary_crop(photo.rgb)
            started = time.perf_counter()
            try:
                comparison: Comparison | None = compare_images(specimen, crop)
            except AlignmentError:
                comparison = None
            ms = (time.perf_counter() - started) * 1000
            measured.append(Measured(pair.kind, forged, comparison, ms))
    return measured


def judged(measured: list[Measured], thresholds: Thresholds | None = None) -> list[Outcome]:
    """Verdicts under `thresholds` (the calibrated ones by default). A pair that cannot be
    aligned is a flag: the officer is told so."""
    outcomes = []
    for m in measured:
        lines: tuple[bool | None, ...] = ()
        if m.comparison is None:
            flagged, score = True, float("inf")
        else:
            comparison = m.comparison.judged(thresholds or THRESHOLDS)
            flagged, score = comparison.verdict != "consistent", comparison.score()
            read = comparison.measurements.lines_read
            lines = tuple(line.alike for line in read if line.kind == "fixed")
        outcomes.append(Outcome(m.kind, m.forged, flagged, score, m.ms, lines))
    return outcomes


def lines_read(outcomes: list[Outcome]) -> dict[str, Any]:
    """How the fixed lines of aligned genuine photos read: alike, otherwise, not at all,
    and the share of photos with a line that reads otherwise."""
    genuine = [o for o in outcomes if not o.forged and o.score != float("inf")]
    lines = [alike for o in genuine for alike in o.fixed_lines]
    return {
        "photos": len(genuine),
        "fixed_lines": len(lines),
        "alike": sum(alike is True for alike in lines),
        "differently": sum(alike is False for alike in lines),
        "unread": sum(alike is None for alike in lines),
        "photos_marked": round(
            float(np.mean([False in o.fixed_lines for o in genuine])) if genuine else 0.0, 4
        ),
    }


def compare_pairs(
    world: SyntheticWorld, pairs: int, thresholds: Thresholds | None = None
) -> list[Outcome]:
    return judged(measure_pairs(world, pairs), thresholds)


def roc(outcomes: list[Outcome]) -> tuple[list[float], list[float], float]:
    """False and true positive rates over all score thresholds, and the area under."""
    scores = np.array([min(o.score, 1e9) for o in outcomes])
    forged = np.array([o.forged for o in outcomes])
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(forged[order]) / max(forged.sum(), 1)
    fp = np.cumsum(~forged[order]) / max((~forged).sum(), 1)
    fpr, tpr = [0.0, *fp.tolist()], [0.0, *tp.tolist()]
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def summarise(outcomes: list[Outcome]) -> dict[str, Any]:
    genuine = [o for o in outcomes if not o.forged]
    forged = [o for o in outcomes if o.forged]
    kinds = sorted({o.kind for o in forged})
    fpr, tpr, auc = roc(outcomes)
    return {
        "pairs": len(genuine),
        "genuine_flag_rate": round(float(np.mean([o.flagged for o in genuine])), 4),
        "forged_flag_rate": round(float(np.mean([o.flagged for o in forged])), 4),
        "forged_flag_rate_by_kind": {
            kind: round(float(np.mean([o.flagged for o in forged if o.kind == kind])), 4)
            for kind in kinds
        },
        "auc": round(auc, 4),
        "lines": lines_read(outcomes),
        "latency_ms": percentiles([o.ms for o in outcomes]),
        "roc": {"fpr": [round(v, 4) for v in fpr], "tpr": [round(v, 4) for v in tpr]},
    }


def run_compare_bench(out: Path, seed: int, specimens: int, pairs: int) -> dict[str, Any]:
    from benchmarks.plots import plot_roc

    world = SyntheticWorld(seed=seed, specimens=specimens)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(compare_pairs(world, pairs))
    plot_roc(summary["roc"], summary["auc"], out / "compare_roc.png")
    log.info(
        "compare: genuine flagged %.3f, forged flagged %.3f, AUC %.3f",
        summary["genuine_flag_rate"],
        summary["forged_flag_rate"],
        summary["auc"],
    )
    return summary
