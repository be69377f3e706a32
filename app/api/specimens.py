"""Specimens: list, create, read, update, withdraw, and their images and history."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status
from fastapi import Path as FastPath
from fastapi.concurrency import run_in_threadpool

from app.core import catalogue
from app.core.models import (
    Direction,
    ImageKind,
    Mode,
    Role,
    SpecimenCreate,
    SpecimenEventPublic,
    SpecimenImagePublic,
    SpecimenPage,
    SpecimenPublic,
    SpecimenUpdate,
    Status,
)
from app.deps import (
    MAX_ID,
    Identifier,
    LibrarianDep,
    OfficerDep,
    ServicesDep,
    SessionDep,
    StoreDep,
    check_country,
    read_upload,
    require,
)
from ingestion.specimens import add_image, add_specimen

router = APIRouter(
    prefix="/specimens", tags=["specimens"], dependencies=[Depends(require(Role.OFFICER))]
)


@router.get("")
def list_specimens(
    session: SessionDep,
    services: ServicesDep,
    country: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
    bcp: Annotated[str | None, Query(max_length=200, description="BCP code or exact name")] = None,
    direction: Direction | None = None,
    mode: Mode | None = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    valid_on: Annotated[dt.date | None, Query(description="valid on this date")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text search")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> SpecimenPage:
    limit = min(limit, services.settings.page_size_max)
    spec = catalogue.SpecimenFilter(
        country=country,
        bcp=bcp,
        direction=direction,
        mode=mode,
        status=status_,
        valid_on=valid_on,
        text=q,
    )
    rows, total = catalogue.list_specimens(session, spec, offset=offset, limit=limit)
    items = [catalogue.to_public(session, row) for row in rows]
    return SpecimenPage(items=items, total=total, offset=offset, limit=limit)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_specimen(
    session: SessionDep,
    store: StoreDep,
    services: ServicesDep,
    principal: LibrarianDep,
    fields: Annotated[SpecimenCreate, Form()],
    image: Annotated[UploadFile, File(description="scan or photo of the genuine impression")],
) -> SpecimenPublic:
    check_country(principal, fields.country)
    actor = principal.username
    data = await read_upload(image, services.settings.uploads.max_bytes)
    indexer = await run_in_threadpool(lambda: services.indexer)
    specimen = await run_in_threadpool(
        lambda: add_specimen(
            session, store, fields, data, actor=actor, limits=services.image_limits, indexer=indexer
        )
    )
    await run_in_threadpool(services.catalogue_changed)
    services.audit(actor, "specimen.create", f"specimen:{specimen.id}", country=specimen.country)
    return catalogue.to_public(session, specimen)


@router.get("/{specimen_id}")
def read_specimen(
    specimen_id: Identifier, session: SessionDep, services: ServicesDep, principal: OfficerDep
) -> SpecimenPublic:
    specimen = catalogue.get_specimen(session, specimen_id)
    services.audit(principal.username, "specimen.view", f"specimen:{specimen_id}")
    return catalogue.to_public(session, specimen)


@router.patch("/{specimen_id}")
def update_specimen(
    specimen_id: Identifier,
    change: SpecimenUpdate,
    session: SessionDep,
    services: ServicesDep,
    principal: LibrarianDep,
) -> SpecimenPublic:
    specimen = catalogue.get_specimen(session, specimen_id)
    check_country(principal, specimen.country, change.country or specimen.country)
    updated = catalogue.update_specimen(session, specimen, change, principal.username)
    services.catalogue_changed()
    services.audit(
        principal.username,
        "specimen.update",
        f"specimen:{specimen_id}",
        fields=sorted(change.model_dump(exclude_unset=True)),
    )
    return catalogue.to_public(session, updated)


@router.delete("/{specimen_id}")
def withdraw_specimen(
    specimen_id: Identifier, session: SessionDep, services: ServicesDep, principal: LibrarianDep
) -> SpecimenPublic:
    """Withdraw the specimen: it stays in the library with its history, out of active search."""
    specimen = catalogue.get_specimen(session, specimen_id)
    check_country(principal, specimen.country)
    withdrawn = catalogue.withdraw_specimen(session, specimen, principal.username)
    services.catalogue_changed()
    services.audit(principal.username, "specimen.withdraw", f"specimen:{specimen_id}")
    return catalogue.to_public(session, withdrawn)


@router.get("/{specimen_id}/history")
def specimen_history(specimen_id: Identifier, session: SessionDep) -> list[SpecimenEventPublic]:
    catalogue.get_specimen(session, specimen_id)
    events = catalogue.history_of(session, specimen_id)
    return [SpecimenEventPublic.model_validate(event) for event in events]


@router.get("/{specimen_id}/images")
def list_images(specimen_id: Identifier, session: SessionDep) -> list[SpecimenImagePublic]:
    catalogue.get_specimen(session, specimen_id)
    images = catalogue.images_of(session, specimen_id)
    return [SpecimenImagePublic.model_validate(image) for image in images]


@router.post("/{specimen_id}/images", status_code=status.HTTP_201_CREATED)
async def upload_image(
    specimen_id: Identifier,
    session: SessionDep,
    store: StoreDep,
    services: ServicesDep,
    principal: LibrarianDep,
    image: Annotated[UploadFile, File()],
    kind: Annotated[ImageKind, Form()] = ImageKind.DETAIL,
) -> SpecimenImagePublic:
    specimen = catalogue.get_specimen(session, specimen_id)
    check_country(principal, specimen.country)
    data = await read_upload(image, services.settings.uploads.max_bytes)
    row = add_image(
        session,
        store,
        specimen,
        data,
        kind=kind,
        actor=principal.username,
        limits=services.image_limits,
    )
    services.audit(principal.username, "specimen.image_add", f"specimen:{specimen_id}")
    return SpecimenImagePublic.model_validate(row)


class Variant(StrEnum):
    ORIGINAL = "original"  # the bytes as uploaded
    NORMALISED = "normalised"  # cropped to the impression and straightened (PNG)
    THUMBNAIL = "thumbnail"  # at most 256 px (JPEG)


def _image_response(
    session: SessionDep, store: StoreDep, specimen_id: int, position: int, variant: Variant
) -> Response:
    catalogue.get_specimen(session, specimen_id)
    images = catalogue.images_of(session, specimen_id)
    if position >= len(images):
        raise catalogue.SpecimenNotFoundError(
            f"specimen {specimen_id} has no image at position {position}"
        )
    image = images[position]
    key, media_type = image.object_key, image.content_type
    if variant is Variant.NORMALISED and image.normalised_key:
        key, media_type = image.normalised_key, "image/png"
    elif variant is Variant.THUMBNAIL and image.thumbnail_key:
        key, media_type = image.thumbnail_key, "image/jpeg"
    return Response(
        content=store.get(key),
        media_type=media_type,
        headers={"ETag": f'"{key}"', "Cache-Control": "private, max-age=3600"},
    )


@router.get("/{specimen_id}/image", response_class=Response)
def primary_image(
    specimen_id: Identifier,
    session: SessionDep,
    store: StoreDep,
    variant: Variant = Variant.ORIGINAL,
) -> Response:
    return _image_response(session, store, specimen_id, 0, variant)


@router.get("/{specimen_id}/thumbnail", response_class=Response)
def primary_thumbnail(specimen_id: Identifier, session: SessionDep, store: StoreDep) -> Response:
    return _image_response(session, store, specimen_id, 0, Variant.THUMBNAIL)


@router.get("/{specimen_id}/images/{position}", response_class=Response)
def image_at(
    specimen_id: Identifier,
    position: Annotated[int, FastPath(ge=0, le=10_000)],
    session: SessionDep,
    store: StoreDep,
    variant: Variant = Variant.ORIGINAL,
) -> Response:
    return _image_response(session, store, specimen_id, position, variant)
