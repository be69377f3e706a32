"""Bulk ingestion of a manifest: every good row stored, every bad row reported."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from app.core.models import Specimen, SpecimenCreate
from app.core.storage import ObjectStore, sha256_hex
from ingestion.dedupe import NearDuplicates
from ingestion.manifest import Bundle, ManifestRow, read_rows, validate_fields
from ingestion.specimens import DuplicateImageError, add_specimen, derived_images, find_image
from ingestion.vectors import Indexer
from vision.errors import BadImageError
from vision.imageio import DecodedImage, ImageLimits, decode_image
from vision.pipeline import StampVectors
from vision.specimen_image import DerivedImages
from vision.workers import parallel_map

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RowError:
    row: int
    image: str
    reason: str


@dataclass(frozen=True)
class Flag:
    """A new specimen that looks like one already in the library: for the librarian to judge."""

    row: int
    specimen_id: int
    similar_to: int
    similarity: float


@dataclass
class IngestReport:
    added: list[int] = field(default_factory=list)  # by this job, in this run or an earlier one
    unchanged: list[int] = field(default_factory=list)  # already in the library: same bytes
    errors: list[RowError] = field(default_factory=list)
    flagged: list[Flag] = field(default_factory=list)
    last_row: int = 0
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
    job_id: int | None = None,
    duplicates: NearDuplicates | None = None,
    countries: list[str] | None = None,
) -> IngestReport:
    """Ingest every row of the manifest at `source`; running it twice adds nothing.

    A row whose image is already in the library counts as added when this job (`job_id`)
    added it in an earlier, interrupted run, else as unchanged.
    """
    limits = limits or ImageLimits()
    report = IngestReport()
    started = time.perf_counter()
    bundle = Bundle(source)
    step = _Step(
        session, store, bundle, report, actor, limits, indexer, job_id, duplicates, countries or []
    )
    try:
        rows = read_rows(bundle)
        # while one chunk is stored (catalogue and object store), the next one is computed
        pending = step.start(list(itertools.islice(rows, batch_size)))
        while pending is not None:
            chunk = list(itertools.islice(rows, batch_size))
            following = step.start(chunk) if chunk else None
            step.finish(pending)
            report.last_row = pending.rows[-1].number
            if progress:
                progress(report)
            pending = following
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


def validate_manifest(source: Path, limits: ImageLimits) -> list[RowError]:
    """Every row's problems, storing nothing (what `--strict` checks before it starts)."""
    problems = []
    bundle = Bundle(source)
    try:
        for row in read_rows(bundle):
            try:
                validate_fields(row)
                decode_image(bundle.read_image(row.image_path, limits.max_bytes), limits)
            except (BadImageError, ValueError) as exc:
                problems.append(RowError(row.number, row.image_path, str(exc)))
    finally:
        bundle.close()
    return problems


@dataclass
class _Ready:
    row: ManifestRow
    fields: SpecimenCreate
    data: bytes
    decoded: DecodedImage


@dataclass(frozen=True)
class _Chunk:
    rows: list[ManifestRow]
    ready: list[_Ready]
    computed: Future[tuple[list[StampVectors | None], list[DerivedImages]]]


_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")


@dataclass
class _Step:
    """What every chunk of a manifest goes through: validate, decode, vectorise, store."""

    session: Session
    store: ObjectStore
    bundle: Bundle
    report: IngestReport
    actor: str
    limits: ImageLimits
    indexer: Indexer | None
    job_id: int | None
    duplicates: NearDuplicates | None
    countries: list[str]  # empty: every country

    def start(self, rows: list[ManifestRow]) -> _Chunk | None:
        """Read and validate the rows here; compute their vectors and images in the background."""
        if not rows:
            return None
        ready = [item for row in rows if (item := self._read(row)) is not None]
        return _Chunk(rows, ready, _BACKGROUND.submit(self._compute, ready))

    def _compute(
        self, ready: list[_Ready]
    ) -> tuple[list[StampVectors | None], list[DerivedImages]]:
        images = [item.decoded.rgb for item in ready]
        vectors: list[StampVectors | None] = [None] * len(ready)
        if self.indexer and ready:
            vectors = list(self.indexer.vectors_for(images))
        derived = parallel_map(
            lambda pair: derived_images(*pair), zip(images, vectors, strict=True)
        )
        return vectors, derived

    def finish(self, chunk: _Chunk) -> None:
        vectors, derived = chunk.computed.result()
        for position, item in enumerate(chunk.ready):
            self._store(item, vectors[position], derived[position])

    def _read(self, row: ManifestRow) -> _Ready | None:
        try:
            fields = validate_fields(row)
            if self.countries and fields.country not in self.countries:
                raise ValueError(
                    f"{self.actor} may load specimens of {', '.join(self.countries)} only, "
                    f"not of {fields.country}"
                )
            data = self.bundle.read_image(row.image_path, self.limits.max_bytes)
            existing = find_image(self.session, sha256_hex(data))
            if existing is not None:
                self._seen(existing.specimen_id)
                return None
            return _Ready(row, fields, data, decode_image(data, self.limits))
        except (BadImageError, ValueError) as exc:
            self.report.errors.append(RowError(row.number, row.image_path, str(exc)))
            return None

    def _seen(self, specimen_id: int) -> None:
        specimen = self.session.get(Specimen, specimen_id)
        mine = self.job_id is not None and specimen and specimen.ingest_job_id == self.job_id
        (self.report.added if mine else self.report.unchanged).append(specimen_id)

    def _store(self, item: _Ready, vectors: StampVectors | None, derived: DerivedImages) -> None:
        try:
            specimen = add_specimen(
                self.session,
                self.store,
                item.fields,
                item.data,
                actor=self.actor,
                limits=self.limits,
                indexer=self.indexer,
                decoded=item.decoded,
                vectors=vectors,
                job_id=self.job_id,
                derived=derived,
            )
        except DuplicateImageError as exc:  # the same image twice in one manifest
            self._seen(exc.specimen_id)
            return
        except (BadImageError, ValueError) as exc:
            self.report.errors.append(RowError(item.row.number, item.row.image_path, str(exc)))
            return
        assert specimen.id is not None
        self.report.added.append(specimen.id)
        if self.duplicates is not None and vectors is not None:
            for other, similarity in self.duplicates.similar(
                specimen.id, vectors.embedding, vectors.features
            ):
                self.report.flagged.append(Flag(item.row.number, specimen.id, other, similarity))
