"""Bulk ingestion through the API: upload a ZIP, get a job, follow its progress."""

from __future__ import annotations

import tempfile
import zipfile
from typing import Annotated

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    File,
    HTTPException,
    Query,
    UploadFile,
    status,
)
from fastapi.concurrency import run_in_threadpool
from sqlmodel import col, select

from app.auth.users import Principal
from app.core.models import IngestJob, IngestJobPublic, Role
from app.core.storage import content_key, sha256_hex
from app.deps import Identifier, LibrarianDep, ServicesDep, SessionDep, read_upload, require
from app.services import Services
from ingestion.jobs import create_job, get_job, run_stored_job

router = APIRouter(tags=["ingestion"], dependencies=[Depends(require(Role.LIBRARIAN))])
BUNDLE_NAMESPACE = "ingest"


def curated_countries(principal: Principal) -> list[str]:
    """The countries whose specimens this user may load; empty means every country."""
    return [] if principal.role is Role.ADMIN else list(principal.countries)


def _run(services: Services, job_id: int) -> None:
    run_stored_job(
        services.engine,
        services.store,
        job_id,
        indexer=services.indexer,
        limits=services.image_limits,
    )
    services.catalogue_changed()


@router.post("/ingest", status_code=status.HTTP_202_ACCEPTED)
async def start_ingest(
    services: ServicesDep,
    principal: LibrarianDep,
    background: BackgroundTasks,
    bundle: Annotated[UploadFile, File(description="ZIP of manifest.csv and its images")],
) -> IngestJobPublic:
    """Keep the ZIP in the object store (any replica can resume it) and start a job on it."""
    data = await read_upload(bundle, services.settings.uploads.max_bundle_bytes)
    with tempfile.TemporaryFile() as probe:
        probe.write(data)
        if not zipfile.is_zipfile(probe):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the bundle is not a ZIP")
    key = content_key(BUNDLE_NAMESPACE, sha256_hex(data), ".zip")
    await run_in_threadpool(services.store.put, key, data, "application/zip")
    name = (bundle.filename or "upload.zip")[:200]
    job_id = await run_in_threadpool(
        lambda: create_job(
            services.engine,
            source=name,
            actor=principal.username,
            object_key=key,
            countries=curated_countries(principal),
        )
    )
    services.audit(principal.username, "ingest.start", f"job:{job_id}", bundle=name)
    background.add_task(_run, services, job_id)
    return IngestJobPublic.model_validate(get_job(services.engine, job_id))


@router.get("/jobs")
def list_jobs(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[IngestJobPublic]:
    jobs = session.exec(
        select(IngestJob).order_by(col(IngestJob.id).desc()).limit(min(limit, 200))
    ).all()
    return [IngestJobPublic.model_validate(job) for job in jobs]


@router.get("/jobs/{job_id}")
def read_job(job_id: Identifier, session: SessionDep) -> IngestJobPublic:
    job = session.get(IngestJob, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"ingestion job {job_id} does not exist")
    return IngestJobPublic.model_validate(job)
