"""Do the catalogue, the object store and the search index agree? What to repair if not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from app.core.models import Specimen, SpecimenImage
from app.core.storage import ObjectStore, content_key, sha256_hex
from ingestion.specimens import DERIVED_NAMESPACE, IMAGE_NAMESPACE
from ingestion.vectors import vector_ids


@dataclass
class LibraryCheck:
    catalogue: int = 0  # specimens
    objects: int = 0  # specimens whose primary image object is in the store
    index: int = 0  # specimens in the search index
    problems: list[str] = field(default_factory=list)
    orphan_objects: list[str] = field(default_factory=list)
    missing_vectors: list[int] = field(default_factory=list)
    index_extra: list[int] = field(default_factory=list)
    index_missing: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "catalogue": self.catalogue,
            "objects": self.objects,
            "index": self.index,
            "ok": self.ok,
            "problems": self.problems,
        }


def check_library(
    session: Session,
    store: ObjectStore,
    index_ids: Iterable[int],
    model_id: str,
    *,
    deep: bool = False,
) -> LibraryCheck:
    """Compare the three; with `deep`, also re-hash every image object against its record."""
    report = LibraryCheck()
    specimens = {int(s.id): s for s in session.exec(select(Specimen)).all() if s.id is not None}
    images = list(session.exec(select(SpecimenImage)).all())
    stored = set(store.keys(IMAGE_NAMESPACE + "/")) | set(store.keys(DERIVED_NAMESPACE + "/"))
    report.catalogue = len(specimens)
    _check_objects(report, store, specimens, images, stored, deep)
    _check_index(report, set(specimens), vector_ids(session, model_id), set(index_ids))
    return report


def _check_objects(
    report: LibraryCheck,
    store: ObjectStore,
    specimens: dict[int, Specimen],
    images: list[SpecimenImage],
    stored: set[str],
    deep: bool,
) -> None:
    referenced = {image.object_key for image in images}
    for image in images:
        for derived in (image.normalised_key, image.thumbnail_key):
            if derived is None:
                continue
            referenced.add(derived)
            if derived not in stored:
                report.problems.append(
                    f"image {image.id} of specimen {image.specimen_id}: derived object "
                    f"{derived} is missing"
                )
    report.objects = sum(1 for s in specimens.values() if s.image_key in stored)
    for specimen_id, specimen in sorted(specimens.items()):
        if specimen.image_key not in stored:
            report.problems.append(
                f"specimen {specimen_id}: image object {specimen.image_key} is missing from the "
                "store; upload its image again"
            )
    for image in images:
        if image.object_key in stored and image.object_key != specimen_image_key(image):
            report.problems.append(
                f"image {image.id} of specimen {image.specimen_id}: key {image.object_key} "
                f"does not carry its sha256 {image.sha256}"
            )
        elif (
            deep
            and image.object_key in stored
            and sha256_hex(store.get(image.object_key)) != image.sha256
        ):
            report.problems.append(
                f"image {image.id} of specimen {image.specimen_id}: object "
                f"{image.object_key} does not match its checksum"
            )
    report.orphan_objects = sorted(stored - referenced)
    for key in report.orphan_objects:
        report.problems.append(f"object {key} belongs to no specimen (orphan)")


def specimen_image_key(image: SpecimenImage) -> str:
    """The key this image's bytes must be stored under (keys are content addresses)."""
    extension = image.object_key.rsplit(".", 1)[-1]
    return content_key(IMAGE_NAMESPACE, image.sha256, "." + extension)


def _check_index(
    report: LibraryCheck, specimens: set[int], vectors: set[int], indexed: set[int]
) -> None:
    report.index = len(indexed & specimens)
    report.missing_vectors = sorted(specimens - vectors)
    report.index_extra = sorted(indexed - vectors)
    report.index_missing = sorted((vectors & specimens) - indexed)
    for specimen_id in report.missing_vectors:
        report.problems.append(f"specimen {specimen_id} has no search vectors")
    for specimen_id in report.index_extra:
        report.problems.append(f"index holds {specimen_id}, which has no vectors in the catalogue")
    for specimen_id in report.index_missing:
        report.problems.append(f"specimen {specimen_id} is missing from the search index")


def remove_orphans(store: ObjectStore, report: LibraryCheck) -> int:
    for key in report.orphan_objects:
        store.delete(key)
    return len(report.orphan_objects)
