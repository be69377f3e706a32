"""Storing one specimen (or one more image of a specimen): the step every ingestion path uses."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, func, select

from app.core.catalogue import record_event
from app.core.models import ImageKind, Specimen, SpecimenCreate, SpecimenImage
from app.core.storage import ObjectStore, StorageError, content_key, sha256_hex
from ingestion.vectors import Indexer
from vision.imageio import DecodedImage, ImageLimits, decode_image
from vision.pipeline import StampVectors
from vision.specimen_image import DerivedImages, derive

log = logging.getLogger(__name__)
IMAGE_NAMESPACE = "images"
DERIVED_NAMESPACE = "derived"  # cropped, deskewed specimen images and thumbnails


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


@dataclass(frozen=True)
class _Objects:
    """The keys an image is stored under: the original and what is derived from it."""

    original: str
    normalised: str
    thumbnail: str


@contextmanager
def _stored_objects(
    session: Session,
    store: ObjectStore,
    data: bytes,
    decoded: DecodedImage,
    digest: str,
    derived: DerivedImages,
) -> Iterator[_Objects]:
    """Put the original under its content key and the derived images under theirs; if the
    catalogue change fails, roll it back and remove the objects this call created."""
    objects = [
        (content_key(IMAGE_NAMESPACE, digest, decoded.extension), data, decoded.content_type),
        (_derived_key(derived.normalised_jpeg, ".jpg"), derived.normalised_jpeg, "image/jpeg"),
        (_derived_key(derived.thumbnail_jpeg, ".jpg"), derived.thumbnail_jpeg, "image/jpeg"),
    ]
    created: list[str] = []
    try:
        for key, blob, content_type in objects:
            if not store.exists(key):
                store.put(key, blob, content_type)
                created.append(key)
        yield _Objects(*(key for key, _, _ in objects))
    except (SQLAlchemyError, OSError, StorageError):
        session.rollback()
        for key in created:
            with suppress(StorageError):
                store.delete(key)
        raise


def derived_images(rgb: NDArray[np.uint8], vectors: StampVectors | None) -> DerivedImages:
    """The cropped, straightened copy and the thumbnail, reusing the impression's box and ink
    map when search vectors were computed from the same image."""
    if vectors is None:
        return derive(rgb)
    return derive(rgb, vectors.box, vectors.features.ink)


def _derived_key(blob: bytes, extension: str) -> str:
    return content_key(DERIVED_NAMESPACE, sha256_hex(blob), extension)


def _image_row(
    specimen_id: int | None,
    position: int,
    kind: ImageKind,
    keys: _Objects,
    digest: str,
    data: bytes,
    decoded: DecodedImage,
    actor: str,
) -> SpecimenImage:
    return SpecimenImage(
        specimen_id=specimen_id or 0,
        position=position,
        kind=kind,
        object_key=keys.original,
        normalised_key=keys.normalised,
        thumbnail_key=keys.thumbnail,
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
    derived: DerivedImages | None = None,
) -> Specimen:
    """Validate the image, store it and catalogue the specimen, or change nothing at all.

    With an indexer, the search vectors are computed first (a failure stores nothing) and
    saved in the same transaction; search processes pick them up from the change log.
    """
    decoded, digest = _new_image(session, image, limits, decoded)
    if indexer and vectors is None:
        vectors = indexer.vectors_for([decoded.rgb])[0]
    derived = derived or derived_images(decoded.rgb, vectors)
    with _stored_objects(session, store, image, decoded, digest, derived) as keys:
        specimen = Specimen(
            **fields.model_dump(),
            image_key=keys.original,
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
        session.add(
            _image_row(specimen.id, 0, ImageKind.FRONT, keys, digest, image, decoded, actor)
        )
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
    with _stored_objects(session, store, image, decoded, digest, derive(decoded.rgb)) as keys:
        count = session.exec(
            select(func.count())
            .select_from(SpecimenImage)
            .where(SpecimenImage.specimen_id == specimen.id)
        ).one()
        row = _image_row(specimen.id, int(count), kind, keys, digest, image, decoded, actor)
        session.add(row)
        record_event(
            session, specimen.id, "image_added", actor, {"kind": kind.value, "sha256": digest}
        )
        session.commit()
    session.refresh(row)
    return row
