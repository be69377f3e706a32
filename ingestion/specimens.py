"""Storing one specimen (or one more image of a specimen): the step every ingestion path uses."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, func, select

from app.core.catalogue import record_event
from app.core.models import ImageKind, Specimen, SpecimenCreate, SpecimenImage
from app.core.storage import ObjectStore, content_key, sha256_hex
from ingestion.vectors import Indexer
from vision.imageio import DecodedImage, ImageLimits, decode_image
from vision.pipeline import StampVectors

log = logging.getLogger(__name__)
IMAGE_NAMESPACE = "images"


class DuplicateImageError(ValueError):
    """These exact image bytes are already in the library."""

    def __init__(self, specimen_id: int, sha256: str) -> None:
        super().__init__(f"this image is already in the library as specimen {specimen_id}")
        self.specimen_id = specimen_id
        self.sha256 = sha256


def find_image(session: Session, sha256: str) -> SpecimenImage | None:
    return session.exec(select(SpecimenImage).where(SpecimenImage.sha256 == sha256)).first()


def _new_image(
    session: Session, data: bytes, limits: ImageLimits | None, decoded: DecodedImage | None = None
) -> tuple[DecodedImage, str]:
    """The decoded image and its sha256, or DuplicateImageError if the bytes are in the library."""
    decoded = decoded or decode_image(data, limits)
    digest = sha256_hex(data)
    existing = find_image(session, digest)
    if existing is not None:
        raise DuplicateImageError(existing.specimen_id, digest)
    return decoded, digest


@contextmanager
def _stored_object(
    session: Session, store: ObjectStore, data: bytes, decoded: DecodedImage, digest: str
) -> Iterator[str]:
    """Put the bytes under their content key; if the catalogue change fails, roll it back and
    remove the object again (unless it was already there)."""
    key = content_key(IMAGE_NAMESPACE, digest, decoded.extension)
    created = not store.exists(key)
    if created:
        store.put(key, data, decoded.content_type)
    try:
        yield key
    except (SQLAlchemyError, OSError):
        session.rollback()
        if created:
            store.delete(key)
        raise


def _image_row(
    specimen_id: int | None,
    position: int,
    kind: ImageKind,
    key: str,
    digest: str,
    data: bytes,
    decoded: DecodedImage,
    actor: str,
) -> SpecimenImage:
    return SpecimenImage(
        specimen_id=specimen_id or 0,
        position=position,
        kind=kind,
        object_key=key,
        sha256=digest,
        content_type=decoded.content_type,
        byte_size=len(data),
        width=decoded.width,
        height=decoded.height,
        created_by=actor,
    )


def add_specimen(
    session: Session,
    store: ObjectStore,
    fields: SpecimenCreate,
    image: bytes,
    *,
    actor: str,
    limits: ImageLimits | None = None,
    indexer: Indexer | None = None,
    decoded: DecodedImage | None = None,
    vectors: StampVectors | None = None,
    job_id: int | None = None,
) -> Specimen:
    """Validate the image, store it and catalogue the specimen, or change nothing at all.

    With an indexer, the search vectors are computed first (a failure stores nothing) and
    saved in the same transaction; search processes pick them up from the change log.
    """
    decoded, digest = _new_image(session, image, limits, decoded)
    if indexer and vectors is None:
        vectors = indexer.vectors_for([decoded.rgb])[0]
    with _stored_object(session, store, image, decoded, digest) as key:
        specimen = Specimen(
            **fields.model_dump(),
            image_key=key,
            image_sha256=digest,
            image_width=decoded.width,
            image_height=decoded.height,
            created_by=actor,
            updated_by=actor,
            ingest_job_id=job_id,
        )
        session.add(specimen)
        session.flush()
        assert specimen.id is not None
        session.add(_image_row(specimen.id, 0, ImageKind.FRONT, key, digest, image, decoded, actor))
        record_event(session, specimen.id, "created", actor, fields.model_dump(mode="json"))
        if indexer and vectors:
            session.add(indexer.row(specimen.id, vectors))
        session.commit()
    session.refresh(specimen)
    log.debug("specimen %s stored (%s %s)", specimen.id, specimen.country, specimen.bcp_name)
    return specimen


def add_image(
    session: Session,
    store: ObjectStore,
    specimen: Specimen,
    image: bytes,
    *,
    kind: ImageKind,
    actor: str,
    limits: ImageLimits | None = None,
) -> SpecimenImage:
    """Attach one more image (detail, UV …) to a specimen after its primary image."""
    assert specimen.id is not None
    decoded, digest = _new_image(session, image, limits)
    with _stored_object(session, store, image, decoded, digest) as key:
        count = session.exec(
            select(func.count())
            .select_from(SpecimenImage)
            .where(SpecimenImage.specimen_id == specimen.id)
        ).one()
        row = _image_row(specimen.id, int(count), kind, key, digest, image, decoded, actor)
        session.add(row)
        record_event(
            session, specimen.id, "image_added", actor, {"kind": kind.value, "sha256": digest}
        )
        session.commit()
    session.refresh(row)
    return row
