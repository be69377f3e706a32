"""Bulk ingestion of a manifest: every good row stored, every bad row reported."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from app.core.storage import ObjectStore
from ingestion.manifest import Bundle, read_rows, validate_fields
from ingestion.specimens import DuplicateImageError, add_specimen
from ingestion.vectors import Indexer
from vision.errors import BadImageError
from vision.imageio import ImageLimits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RowError:
    row: int
    image: str
    reason: str


@dataclass
class IngestReport:
    added: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # already in the library: same bytes
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return len(self.added) + len(self.unchanged) + len(self.errors)


Progress = Callable[[IngestReport], None]


def ingest_manifest(
    session: Session,
    store: ObjectStore,
    source: Path,
    *,
    actor: str,
    limits: ImageLimits | None = None,
    progress: Progress | None = None,
    indexer: Indexer | None = None,
) -> IngestReport:
    """Ingest every row of the manifest at `source`; running it twice adds nothing."""
    limits = limits or ImageLimits()
    report = IngestReport()
    started = time.perf_counter()
    bundle = Bundle(source)
    try:
        for row in read_rows(bundle):
            try:
                fields = validate_fields(row)
                data = bundle.read_image(row.image_path, limits.max_bytes)
                specimen = add_specimen(
                    session, store, fields, data, actor=actor, limits=limits, indexer=indexer
                )
                assert specimen.id is not None
                report.added.append(specimen.id)
            except DuplicateImageError as exc:
                report.unchanged.append(exc.specimen_id)
            except (BadImageError, ValueError) as exc:
                report.errors.append(RowError(row.number, row.image_path, str(exc)))
            if progress:
                progress(report)
    finally:
        bundle.close()
        report.seconds = time.perf_counter() - started
    log.info(
        "ingested %s: %d added, %d unchanged, %d errors",
        source,
        len(report.added),
        len(report.unchanged),
        len(report.errors),
    )
    return report
