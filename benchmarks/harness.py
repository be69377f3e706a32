"""The real product path under measurement: a library ingested in bulk, searched photo by photo."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from app.core.db import session_scope
from app.core.settings import Settings
from app.search import SHORTLIST, Match, SearchFilters
from app.services import Services, open_services
from ingestion.bulk import ingest_manifest
from vision.imageio import encode_jpeg
from vision.pipeline import Box
from vision.synth.export import write_manifest
from vision.synth.world import Query, SyntheticWorld
from vision.twins import TwinEvidence


@dataclass(frozen=True)
class QueryRecord:
    split: str
    truth: int | None  # specimen id, None for a stamp not in the library
    shortlist: list[Match]  # as search ranked them (near-twins settled)
    decision: str
    timings_ms: dict[str, float]
    twins: TwinEvidence = field(default_factory=TwinEvidence)  # how the first beat its rivals
    # where the box searched lay: on the photo's target (at least half of it inside), and
    # which other library stamps of the page it held as much of
    target_in_box: bool = True
    neighbours_in_box: frozenset[int] = frozenset()

    def right_first(self) -> bool:
        """Whether the first result is a right answer about the impression searched: the
        target, or a genuine library stamp beside it that localisation searched instead of
        it. A box holding the target and a neighbour is about the target: an unknown stamp
        matched to the genuine stamp beside it is a false match (the officer would read it
        as their stamp's). Recall is held to the target alone."""
        first = self.shortlist[0].specimen_id if self.shortlist else None
        if first is None:
            return False
        return first == self.truth or (not self.target_in_box and first in self.neighbours_in_box)

    def ranked(self) -> list[int]:
        return [m.specimen_id for m in self.shortlist]

    def ranked_by_embedding(self) -> list[int]:
        return [m.specimen_id for m in sorted(self.shortlist, key=lambda m: -m.similarity)]

    def ranked_by_score(self) -> list[int]:
        """The order before near-twins are settled: by fused score alone."""
        return [m.specimen_id for m in sorted(self.shortlist, key=lambda m: -m.score)]

    def ranked_by_votes(self) -> list[int]:
        return [m.specimen_id for m in sorted(self.shortlist, key=lambda m: -m.votes)]


def build_library(
    world: SyntheticWorld, work: Path, *, with_search: bool
) -> tuple[Services, list[int], dict[str, Any]]:
    """Render the world's specimens as a manifest and ingest it through the real bulk path."""
    started = time.perf_counter()
    manifest = write_manifest(world, work / "manifest")
    render_s = time.perf_counter() - started
    services = open_services(Settings(data_dir=work / "library"))
    indexer = services.indexer if with_search else None
    with session_scope(services.engine) as session:
        report = ingest_manifest(session, services.store, manifest, actor="bench", indexer=indexer)
    if report.errors:
        raise RuntimeError(f"ingestion of the synthetic library failed: {report.errors[:3]}")
    services.catalogue_changed()
    stats = {
        "specimens": len(report.added),
        "seconds": round(report.seconds, 2),
        "per_s": round(len(report.added) / max(report.seconds, 1e-9), 2),
        "render_s": round(render_s, 2),
        "with_search_vectors": with_search,
    }
    return services, report.added, stats


IN_BOX = 0.5  # share of an impression's visible area inside the box for it to count as searched


def _share_inside(quad: NDArray[np.float32], box: Box, frame: tuple[int, int]) -> float:
    """How much of an impression's visible area (the quad within the photo) the box holds."""

    def rectangle(x0: float, y0: float, x1: float, y1: float) -> NDArray[np.float32]:
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)

    height, width = frame
    visible, _ = cv2.intersectConvexConvex(quad.astype(np.float32), rectangle(0, 0, width, height))
    if visible <= 0:
        return 0.0
    x, y, w, h = box
    inside, _ = cv2.intersectConvexConvex(quad.astype(np.float32), rectangle(x, y, x + w, y + h))
    return float(inside / visible)


def searched_impressions(
    query: Query, box: Box, specimen_ids: list[int]
) -> tuple[bool, frozenset[int]]:
    """Whether the target is at least IN_BOX inside `box`, and the specimen ids of the
    photo's other library impressions that are."""
    frame = query.photo.rgb.shape[:2]
    neighbours = frozenset(
        specimen_ids[index]
        for index, neighbour in zip(query.neighbour_indices, query.photo.neighbours, strict=True)
        if _share_inside(neighbour.quad, box, frame) >= IN_BOX
    )
    return _share_inside(query.photo.stamp_quad, box, frame) >= IN_BOX, neighbours


def search_query(services: Services, query: Query, specimen_ids: list[int]) -> QueryRecord:
    """Search one photo as an officer's upload would be searched: JPEG bytes to decision."""
    photo = encode_jpeg(query.photo.rgb, quality=95)
    outcome = services.search.search_bytes(photo, SearchFilters(), top_k=SHORTLIST)
    truth = specimen_ids[query.design_index] if query.design_index is not None else None
    target_in_box, neighbours = searched_impressions(query, outcome.box, specimen_ids)
    return QueryRecord(
        query.split,
        truth,
        outcome.matches,
        outcome.decision,
        outcome.timings_ms,
        outcome.twins,
        target_in_box,
        neighbours,
    )
