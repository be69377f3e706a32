"""Ingestion jobs: a bulk load with a record of its progress, resumable after any failure.

Every specimen stores atomically (object, catalogue row, vectors and change record, or
nothing), and carries the id of the job that added it. So a job killed at any point is
resumed simply by running its manifest again: rows already stored are recognised by
their bytes and counted as this job's, the rest are added, and nothing is doubled.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.core.models import IngestJob, JobStatus, utcnow
from app.core.storage import ObjectStore, StorageError
from ingestion.bulk import IngestReport, ingest_manifest, validate_manifest
from ingestion.dedupe import NearDuplicates
from ingestion.manifest import Bundle, ManifestError, read_rows
from ingestion.vectors import Indexer
from vision.imageio import ImageLimits

log = logging.getLogger(__name__)
Progress = Callable[[IngestJob], None]


class JobNotFoundError(LookupError):
    pass


def create_job(
    engine: Engine,
    *,
    source: str,
    actor: str,
    object_key: str | None = None,
    countries: list[str] | None = None,
) -> int:
    with Session(engine) as session:
        job = IngestJob(
            source=source, object_key=object_key, created_by=actor, countries=countries or []
        )
        session.add(job)
        session.commit()
        assert job.id is not None
        return job.id


def get_job(engine: Engine, job_id: int) -> IngestJob:
    with Session(engine) as session:
        job = session.get(IngestJob, job_id)
        if job is None:
            raise JobNotFoundError(f"ingestion job {job_id} does not exist")
        session.expunge(job)
        return job


def _update(engine: Engine, job_id: int, **values: object) -> IngestJob:
    with Session(engine) as session:
        job = session.get(IngestJob, job_id)
        if job is None:
            raise JobNotFoundError(f"ingestion job {job_id} does not exist")
        for name, value in values.items():
            setattr(job, name, value)
        job.updated_at = utcnow()
        session.add(job)
        session.commit()
        session.refresh(job)
        session.expunge(job)
        return job


def _counts(report: IngestReport, earlier_flags: list[dict[str, object]]) -> dict[str, object]:
    flagged = {int(str(f["specimen_id"])): f for f in earlier_flags}
    flagged.update({f.specimen_id: dataclasses.asdict(f) for f in report.flagged})
    return {
        "processed": report.rows,
        "added": len(report.added),
        "unchanged": len(report.unchanged),
        "errors": [dataclasses.asdict(e) for e in report.errors],
        "flagged": list(flagged.values()),
    }


def count_rows(bundle_path: Path) -> int:
    bundle = Bundle(bundle_path)
    try:
        return sum(1 for _ in read_rows(bundle))
    finally:
        bundle.close()


def run_job(
    engine: Engine,
    store: ObjectStore,
    job_id: int,
    bundle_path: Path,
    *,
    indexer: Indexer | None,
    limits: ImageLimits,
    strict: bool = False,
    progress: Progress | None = None,
) -> IngestJob:
    """Run (or resume) a job over the bundle at `bundle_path`; the job row says how it went."""
    earlier = get_job(engine, job_id)
    try:
        job = _update(
            engine, job_id, status=JobStatus.RUNNING, message="", rows=count_rows(bundle_path)
        )
        if progress:
            progress(job)
        if strict and (problems := validate_manifest(bundle_path, limits)):
            return _update(
                engine,
                job_id,
                status=JobStatus.FAILED,
                errors=[dataclasses.asdict(e) for e in problems],
                message=f"--strict: {len(problems)} bad rows, nothing was stored",
            )
        report = _ingest(engine, store, job_id, bundle_path, indexer, limits, earlier, progress)
    except (ManifestError, StorageError, SQLAlchemyError, OSError) as exc:
        message = f"{exc}; once that is fixed, run `stamplib ingest --resume {job_id}`"
        log.error("ingestion job %d failed: %s", job_id, message)
        try:
            return _update(engine, job_id, status=JobStatus.FAILED, message=message[:2000])
        except SQLAlchemyError:  # the catalogue itself is down: the caller still hears why
            earlier.status, earlier.message = JobStatus.FAILED, message[:2000]
            return earlier
    return _update(engine, job_id, status=JobStatus.DONE, **_counts(report, earlier.flagged))


def _ingest(
    engine: Engine,
    store: ObjectStore,
    job_id: int,
    bundle_path: Path,
    indexer: Indexer | None,
    limits: ImageLimits,
    earlier: IngestJob,
    progress: Progress | None,
) -> IngestReport:
    def record(report: IngestReport) -> None:
        job = _update(engine, job_id, **_counts(report, earlier.flagged))
        if progress:
            progress(job)

    with Session(engine) as session:
        duplicates = (
            NearDuplicates.of_library(session, indexer.model_id, indexer.embedder.dimension)
            if indexer
            else None
        )
        return ingest_manifest(
            session,
            store,
            bundle_path,
            actor=earlier.created_by,
            limits=limits,
            indexer=indexer,
            job_id=job_id,
            duplicates=duplicates,
            progress=record,
            countries=earlier.countries,
        )


def run_stored_job(
    engine: Engine,
    store: ObjectStore,
    job_id: int,
    *,
    indexer: Indexer | None,
    limits: ImageLimits,
    strict: bool = False,
    progress: Progress | None = None,
) -> IngestJob:
    """Run (or resume) a job on its bundle, wherever the job keeps it (path or upload)."""
    with tempfile.TemporaryDirectory() as folder:
        bundle = _bundle_of(get_job(engine, job_id), store, Path(folder))
        return run_job(
            engine,
            store,
            job_id,
            bundle,
            indexer=indexer,
            limits=limits,
            strict=strict,
            progress=progress,
        )


def _bundle_of(job: IngestJob, store: ObjectStore, folder: Path) -> Path:
    """Where the job's bundle is: its path, or a copy of the upload kept in the object store."""
    if job.object_key is None:
        return Path(job.source)
    path = folder / Path(job.object_key).name
    path.write_bytes(store.get(job.object_key))
    return path
