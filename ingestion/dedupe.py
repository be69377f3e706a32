"""Near-duplicates: a new specimen whose image looks like one already in the library.

Identical bytes are recognised by their sha256 and never stored twice. A rescan of the
same specimen, or a copy at another resolution, has other bytes but almost the same
embedding; such a specimen is stored (it may be a genuine new design that differs only
in its BCP line) and flagged for the librarian to judge.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sqlmodel import Session

from index import SpecimenIndex
from ingestion.vectors import stored_embeddings

SIMILAR_FROM = 0.985  # cosine similarity of embeddings from which two specimens are flagged
NEIGHBOURS = 1  # the closest one is enough for the librarian to compare


class NearDuplicates:
    def __init__(self, index: SpecimenIndex, threshold: float = SIMILAR_FROM) -> None:
        self.index = index
        self.threshold = threshold

    @classmethod
    def of_library(
        cls, session: Session, model_id: str, dimension: int, threshold: float = SIMILAR_FROM
    ) -> NearDuplicates:
        ids, vectors = stored_embeddings(session, model_id)
        index = SpecimenIndex.build(ids, vectors, model_id=model_id, dimension=dimension)
        return cls(index, threshold)

    def similar(self, specimen_id: int, embedding: NDArray[np.float32]) -> list[tuple[int, float]]:
        """Specimens already seen that this one nearly duplicates; it is then remembered too."""
        hits = self.index.search(embedding, NEIGHBOURS)
        self.index.upsert([specimen_id], embedding[None, :])
        return [
            (hit.specimen_id, round(hit.score, 4))
            for hit in hits
            if hit.score >= self.threshold and hit.specimen_id != specimen_id
        ]
