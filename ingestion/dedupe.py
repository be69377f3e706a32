"""Near-duplicates: a new specimen that looks like one already in the library.

Identical bytes are recognised by their sha256 and never stored twice. A rescan of the
same specimen, or a copy at another resolution, has other bytes; such a specimen is stored
and flagged for the librarian to judge.

The embedding alone cannot tell a rescan from a near-twin design: entry and exit stamps of
one BCP, or two BCPs of one house style, lie closer together (cosine about 0.999) than a
specimen and its rescan at 0.7x and JPEG 80 (median 0.985). So the embedding only picks the
closest specimens, and the two specimens' ink, aligned, must agree in content
(`ink_difference`): a twin differs by a word, a rescan nowhere. On 400 specimens of a
validation world (seed 7777) the embedding alone at 0.985 flagged 95% of them. With
SAME_INK on the share of ink in pieces whose content differs, on 150 specimens each of
seeds 7777 and 0: rescans at 0.7x and JPEG 80 85% and 83% flagged, at 0.5x and JPEG 70 86%
and 89%, none of the distinct specimens nearest them (the 8 nearest of each, entry/exit
twins and other BCPs of one house style among them; the earlier pixel count flagged 18% and
24% of them), and 4.7% and 3.3% of them against a 0.5x rescan of the specimen (small text
is barely resolved there). The distinct specimens' first percentile lies at 2.9% and 3.7%.
Among 1,000 specimens a rescan's original is within its 8 nearest by embedding for 82% of
200 rescans (top 5: 74%, top 10: 86%); each comparison costs about 11 ms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from sqlmodel import Session

from index import SpecimenIndex
from ingestion.vectors import features_of, stored_embeddings
from vision.features import StampFeatures
from vision.twins import ink_difference

CLOSE_FROM = 0.95  # cosine similarity from which a specimen's ink is compared with this one's
SAME_INK = 0.02  # at most this share of the ink differs in content: a near-duplicate
NEIGHBOURS = 8  # the closest specimens compared: a rescan's near-twins may lie closer to it

FeaturesOf = Callable[[list[int]], dict[int, StampFeatures]]


class NearDuplicates:
    """`features_of` gives stored specimens' local features: a specimen is stored, features
    included, before it is checked, so those of the same job are found there too."""

    def __init__(self, index: SpecimenIndex, features_of: FeaturesOf) -> None:
        self.index = index
        self.features_of = features_of

    @classmethod
    def of_library(cls, session: Session, model_id: str, dimension: int) -> NearDuplicates:
        ids, vectors = stored_embeddings(session, model_id)
        index = SpecimenIndex.build(ids, vectors, model_id=model_id, dimension=dimension)
        return cls(index, lambda wanted: features_of(session, wanted))

    def similar(
        self, specimen_id: int, embedding: NDArray[np.float32], features: StampFeatures
    ) -> list[tuple[int, float]]:
        """Specimens already seen that this one nearly duplicates, with their embedding
        similarity; it is then remembered too."""
        hits = [
            hit
            for hit in self.index.search(embedding, NEIGHBOURS)
            if hit.score >= CLOSE_FROM and hit.specimen_id != specimen_id
        ]
        self.index.upsert([specimen_id], embedding[None, :])
        stored = self.features_of([hit.specimen_id for hit in hits])
        flagged = []
        for hit in hits:
            theirs = stored.get(hit.specimen_id)
            if theirs is None:
                continue
            difference = ink_difference(theirs, features)
            if difference is not None and difference <= SAME_INK:
                flagged.append((hit.specimen_id, round(hit.score, 4)))
        return flagged
