"""The real product path under measurement: a library ingested in bulk, searched photo by photo."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.db import session_scope
from app.core.settings import Settings
from app.search import SHORTLIST, Match, SearchFilters
from app.services import Services, open_services
from ingestion.bulk import ingest_manifest
from vision.imageio import encode_jpeg
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


def search_query(services: Services, query: Query, specimen_ids: list[int]) -> QueryRecord:
    """Search one photo as an officer's upload would be searched: JPEG bytes to decision."""
    photo = encode_jpeg(query.photo.rgb, quality=95)
    outcome = services.search.search_bytes(photo, SearchFilters(), top_k=SHORTLIST)
    truth = specimen_ids[query.design_index] if query.design_index is not None else None
    return QueryRecord(
        query.split,
        truth,
        outcome.matches,
        outcome.decision,
        outcome.timings_ms,
        outcome.twins,
    )
