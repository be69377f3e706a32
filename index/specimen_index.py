"""One FAISS index keyed by catalogue ids, with a sidecar JSON checked on load.

Inner product over L2-normalised vectors (cosine). Filtered search restricts FAISS to
the allowed ids with an ID selector, so a selective filter still returns K results.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

FORMAT_VERSION = 1


class IndexMismatchError(RuntimeError):
    """The index on disk was built by another model, is corrupt, or does not fit."""


@dataclass(frozen=True)
class Hit:
    specimen_id: int
    score: float


class SpecimenIndex:
    def __init__(self, *, dimension: int, model_id: str) -> None:
        self.dimension = dimension
        self.model_id = model_id
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> NDArray[np.int64]:
        with self._lock:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)  # type: ignore[attr-defined]

    def _check(self, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        if vectors.shape[1] != self.dimension:
            raise IndexMismatchError(
                f"vectors of dimension {vectors.shape[1]}, index has {self.dimension}"
            )
        return vectors

    def upsert(self, ids: list[int], vectors: NDArray[np.float32]) -> None:
        """Add vectors, replacing any already stored under the same ids."""
        vectors = self._check(vectors)
        keys = np.asarray(ids, dtype=np.int64)
        with self._lock:
            self._index.remove_ids(faiss.IDSelectorBatch(keys))
            self._index.add_with_ids(vectors, keys)

    def remove(self, ids: list[int]) -> int:
        with self._lock:
            return int(
                self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))
            )

    def search(
        self, vector: NDArray[np.float32], k: int, allowed: list[int] | None = None
    ) -> list[Hit]:
        """The k nearest specimens, only among `allowed` ids when given."""
        query = self._check(vector)
        with self._lock:
            if len(self) == 0 or (allowed is not None and not allowed):
                return []
            params = None
            if allowed is not None:
                selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            scores, ids = self._index.search(query, min(k, len(self)), params=params)
        return [Hit(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def vectors(self, ids: list[int]) -> NDArray[np.float32]:
        """The stored vectors of these ids (each must be in the index)."""
        with self._lock:
            return np.stack([self._index.reconstruct(int(i)) for i in ids]).astype(np.float32)

    def save(self, path: Path) -> None:
        """Write atomically (temporary file and rename), with a sidecar describing the index."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            data = faiss.serialize_index(self._index).tobytes()
            count = len(self)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        sidecar = {
            "model_id": self.model_id,
            "dimension": self.dimension,
            "metric": "inner_product",
            "count": count,
            "sha256": hashlib.sha256(data).hexdigest(),
            "version": FORMAT_VERSION,
        }
        side = sidecar_of(path)
        side.with_suffix(".tmp").write_text(json.dumps(sidecar, indent=2))
        side.with_suffix(".tmp").replace(side)

    @classmethod
    def load(cls, path: Path, *, model_id: str, dimension: int) -> SpecimenIndex:
        """Load and check an index; refuse another model's or a damaged one."""
        side = sidecar_of(path)
        if not path.is_file() or not side.is_file():
            raise IndexMismatchError(f"no index at {path}; run `stamplib index rebuild`")
        sidecar = json.loads(side.read_text())
        if sidecar.get("model_id") != model_id or sidecar.get("dimension") != dimension:
            raise IndexMismatchError(
                f"index {path} was built by model {sidecar.get('model_id')} (dimension "
                f"{sidecar.get('dimension')}), not {model_id} ({dimension}); "
                "run `stamplib index rebuild`"
            )
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sidecar.get("sha256"):
            raise IndexMismatchError(
                f"index {path} is corrupt (checksum mismatch); run `stamplib index rebuild`"
            )
        index = cls(dimension=dimension, model_id=model_id)
        index._index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        if len(index) != sidecar.get("count"):
            raise IndexMismatchError(
                f"index {path} holds {len(index)} vectors, sidecar says {sidecar.get('count')}"
            )
        return index


def sidecar_of(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".json")
