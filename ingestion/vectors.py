"""Search vectors of specimens: computed at ingestion, kept with the catalogue, fed to the index."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from sqlmodel import Session, col, select

from app.core.models import SpecimenVectors
from vision.embedder import Embedder
from vision.features import StampFeatures
from vision.fields import variable_lines
from vision.localise import crop, specimen_box
from vision.pipeline import Box, StampVectors, vectorise
from vision.twins import shape_of
from vision.workers import parallel_map


@dataclass
class Indexer:
    """Turns specimen images into the vectors search keeps with the catalogue."""

    embedder: Embedder

    @property
    def model_id(self) -> str:
        return self.embedder.model_id

    def vectors_for(self, images: list[NDArray[np.uint8]]) -> list[StampVectors]:
        """Vectors of a batch of specimen images (the model embeds a batch at once), each of
        the whole stamp the image shows, with the stamp's variable lines (date, counter) and
        its words and outline (`vision.twins.shape_of`: ~10 ms, once here rather than on
        the first search that ranks it first)."""
        boxes: list[Box | None] = list(parallel_map(specimen_box, images))
        vectors = vectorise(self.embedder, images, boxes)
        lines = variable_lines(
            [(crop(image, v.box), v.features.ink) for image, v in zip(images, vectors, strict=True)]
        )
        features = [
            replace(v.features, variable=boxes) for v, boxes in zip(vectors, lines, strict=True)
        ]
        shapes = parallel_map(shape_of, features)
        return [
            replace(v, features=replace(f, shape=shape))
            for v, f, shape in zip(vectors, features, shapes, strict=True)
        ]

    def row(self, specimen_id: int, vectors: StampVectors) -> SpecimenVectors:
        return SpecimenVectors(
            specimen_id=specimen_id,
            model_id=self.model_id,
            embedding=vectors.embedding.astype(np.float32).tobytes(),
            features=vectors.features.to_bytes(),
        )


def vector_ids(session: Session, model_id: str) -> set[int]:
    """The specimens that have search vectors of this model in the catalogue."""
    rows = session.exec(
        select(SpecimenVectors.specimen_id).where(SpecimenVectors.model_id == model_id)
    ).all()
    return {int(specimen_id) for specimen_id in rows}


def stored_features(session: Session, model_id: str) -> list[tuple[int, bytes]]:
    rows = session.exec(
        select(SpecimenVectors.specimen_id, SpecimenVectors.features).where(
            SpecimenVectors.model_id == model_id
        )
    ).all()
    return [(int(specimen_id), blob) for specimen_id, blob in rows]


def features_of(session: Session, ids: list[int]) -> dict[int, StampFeatures]:
    """The stored local features of these specimens (those that have any)."""
    rows = session.exec(
        select(SpecimenVectors.specimen_id, SpecimenVectors.features).where(
            col(SpecimenVectors.specimen_id).in_(ids)
        )
    ).all()
    return {int(specimen_id): StampFeatures.from_bytes(blob) for specimen_id, blob in rows}


def stored_embeddings(session: Session, model_id: str) -> tuple[list[int], NDArray[np.float32]]:
    rows = session.exec(
        select(SpecimenVectors.specimen_id, SpecimenVectors.embedding).where(
            SpecimenVectors.model_id == model_id
        )
    ).all()
    ids = [int(specimen_id) for specimen_id, _ in rows]
    if not rows:
        return ids, np.zeros((0, 0), np.float32)
    return ids, np.stack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
