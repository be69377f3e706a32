"""Bulk ingestion of a manifest: every good row stored, every bad row reported."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from app.core.models import SpecimenCreate
from app.core.storage import ObjectStore, sha256_hex
from ingestion.manifest import Bundle, ManifestRow, read_rows, validate_fields
from ingestion.specimens import DuplicateImageError, add_specimen, find_image
from ingestion.vectors import Indexer
from vision.errors import BadImageError
from vision.imageio import DecodedImage, ImageLimits, decode_image

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
    batch_size: int = 16,
) -> IngestReport:
    """Ingest every row of the manifest at `source`; running it twice adds nothing."""
    limits = limits or ImageLimits()
    report = IngestReport()
    started = time.perf_counter()
    bundle = Bundle(source)
    try:
        rows = read_rows(bundle)
        while chunk := list(itertools.islice(rows, batch_size)):
            _ingest_chunk(session, store, bundle, chunk, report, actor, limits, indexer)
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


@dataclass
class _Ready:
    row: ManifestRow
    fields: SpecimenCreate
    data: bytes
    decoded: DecodedImage


def _ingest_chunk(
    session: Session,
    store: ObjectStore,
    bundle: Bundle,
    rows: list[ManifestRow],
    report: IngestReport,
    actor: str,
    limits: ImageLimits,
    indexer: Indexer | None,
) -> None:
    """Validate and decode a chunk of rows, vectorise the new images together, store each."""
    ready: list[_Ready] = []
    for row in rows:
        try:
            fields = validate_fields(row)
            data = bundle.read_image(row.image_path, limits.max_bytes)
            existing = find_image(session, sha256_hex(data))
            if existing is not None:
                report.unchanged.append(existing.specimen_id)
                continue
            ready.append(_Ready(row, fields, data, decode_image(data, limits)))
        except (BadImageError, ValueError) as exc:
            report.errors.append(RowError(row.number, row.image_path, str(exc)))
    vectors = (
        indexer.vectors_for([item.decoded.rgb for item in ready]) if indexer and ready else None
    )
    for position, item in enumerate(ready):
        try:
            specimen = add_specimen(
                session,
                store,
                item.fields,
                item.data,
                actor=actor,
                limits=limits,
                indexer=indexer,
                decoded=item.decoded,
                vectors=vectors[position] if vectors else None,
            )
            assert specimen.id is not None
            report.added.append(specimen.id)
        except DuplicateImageError as exc:  # the same image twice in one manifest
            report.unchanged.append(exc.specimen_id)
        except (BadImageError, ValueError) as exc:
            report.errors.append(RowError(item.row.number, item.row.image_path, str(exc)))
