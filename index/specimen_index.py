"""One FAISS index keyed by catalogue ids, with a sidecar JSON checked on load.

Inner product over L2-normalised vectors (cosine). A small library is searched exactly;
from `IndexPlan.exact_up_to` vectors on, `build` makes an inverted file of 8-bit scalar
quantised vectors (a quarter of the memory of floats) and tunes how many lists a search
probes until a sample of library vectors finds its exact neighbours. Filtered search
restricts FAISS to the allowed ids with an ID selector, and probes proportionally more
lists when the filter is selective, so a selective filter still returns K results.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

FORMAT_VERSION = 2
# a filter that leaves at most this many vectors (or this share) is searched exactly
SUBSET_EXACT_UP_TO = 20_000
SUBSET_EXACT_SHARE = 0.02
EXACT = "exact"
IVF = "ivf-sq8"


class IndexMismatchError(RuntimeError):
    """The index on disk was built by another model, is corrupt, or does not fit."""


@dataclass(frozen=True)
class Hit:
    specimen_id: int
    score: float


@dataclass(frozen=True, kw_only=True)
class IndexPlan:
    """When to leave exact search, and how well the approximate index must do."""

    exact_up_to: int = 50_000
    target_recall: float = 0.97  # recall@10 against exact search on a sample, when tuning
    tuning_queries: int = 200
    seed: int = 0


class SpecimenIndex:
    def __init__(self, *, dimension: int, model_id: str) -> None:
        self.dimension = dimension
        self.model_id = model_id
        self.kind = EXACT
        self.nprobe = 0
        self.catalogue_seq = 0  # the last catalogue change this index includes
        # an IndexIDMap2 over a flat index, or an IndexIVFScalarQuantizer (typed loosely:
        # the FAISS stubs know only the base class)
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @classmethod
    def build(
        cls,
        ids: Sequence[int],
        vectors: NDArray[np.float32],
        *,
        model_id: str,
        dimension: int,
        plan: IndexPlan | None = None,
    ) -> SpecimenIndex:
        """An index over these vectors: exact while small, a tuned inverted file beyond."""
        plan = plan or IndexPlan()
        index = cls(dimension=dimension, model_id=model_id)
        if len(ids) <= plan.exact_up_to:
            if len(ids):
                index.upsert(list(ids), vectors)
            return index
        vectors = index._check(vectors)
        keys = np.asarray(ids, dtype=np.int64)
        index._index = _trained_ivf(vectors, plan.seed)
        index._index.add_with_ids(vectors, keys)
        index.kind = IVF
        index.nprobe = _tuned_nprobe(index._index, keys, vectors, plan)
        return index

    def ids(self) -> NDArray[np.int64]:
        with self._lock:
            if self.kind == EXACT:
                return faiss.vector_to_array(self._index.id_map).astype(np.int64)
            lists = self._index.invlists
            return np.concatenate(
                [np.zeros(0, np.int64)]
                + [
                    faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                    for i in range(lists.nlist)
                    if lists.list_size(i)
                ]
            ).astype(np.int64)

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
            self._remove(keys)
            self._index.add_with_ids(vectors, keys)

    def remove(self, ids: Sequence[int]) -> int:
        with self._lock:
            return self._remove(np.asarray(ids, dtype=np.int64))

    def _remove(self, keys: NDArray[np.int64]) -> int:
        if self.kind == EXACT:
            return int(self._index.remove_ids(faiss.IDSelectorBatch(keys)))
        # the id hash table of an inverted file removes only through an array selector
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        selector = faiss.IDSelectorArray(len(keys), faiss.swig_ptr(keys))
        return int(self._index.remove_ids(selector))

    def search(
        self,
        vector: NDArray[np.float32],
        k: int,
        allowed: Sequence[int] | None = None,
        *,
        excluded: Sequence[int] = (),
    ) -> list[Hit]:
        """The k nearest specimens, only among `allowed` ids when given, never `excluded` ones."""
        query = self._check(vector)
        with self._lock:
            if len(self) == 0 or (allowed is not None and not len(allowed)):
                return []
            if self.kind != EXACT and allowed is not None and self._is_selective(len(allowed)):
                return self._search_subset(query[0], k, np.asarray(allowed, dtype=np.int64))
            params, keep = self._params(allowed, excluded)
            scores, ids = self._index.search(query, min(k, len(self)), params=params)
            del keep
        return [Hit(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _is_selective(self, allowed: int) -> bool:
        return allowed <= max(SUBSET_EXACT_UP_TO, SUBSET_EXACT_SHARE * len(self))

    def _search_subset(
        self, query: NDArray[np.float32], k: int, allowed: NDArray[np.int64]
    ) -> list[Hit]:
        """Exact search over a small allowed subset, on its stored (quantised) vectors."""
        vectors = self._index.reconstruct_batch(allowed)
        scores = vectors @ query
        top = np.argsort(-scores, kind="stable")[:k]
        return [Hit(int(allowed[i]), float(scores[i])) for i in top]

    def _params(
        self, allowed: Sequence[int] | None, excluded: Sequence[int]
    ) -> tuple[Any, list[Any]]:
        """Search parameters, and the selectors they point to (kept alive during the search)."""
        keep: list[Any] = []
        selector: Any = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            keep.append(selector)
        elif len(excluded):
            inner = faiss.IDSelectorBatch(np.asarray(excluded, dtype=np.int64))
            selector = faiss.IDSelectorNot(inner)
            keep += [inner, selector]
        if self.kind == EXACT:
            return (None if selector is None else faiss.SearchParameters(sel=selector)), keep  # type: ignore[call-arg]
        params = faiss.SearchParametersIVF()
        params.nprobe = self._probes(len(allowed) if allowed is not None else len(self))
        if selector is not None:
            params.sel = selector
        return params, keep

    def _probes(self, candidates: int) -> int:
        """Lists to probe: a filter keeping a fraction f of the library needs about 1/f more."""
        fraction = max(candidates / max(len(self), 1), 1e-9)
        nlist = int(self._index.nlist)
        return min(nlist, math.ceil(self.nprobe / min(fraction, 1.0)))

    def vectors(self, ids: list[int]) -> NDArray[np.float32]:
        """The stored vectors of these ids (each must be in the index)."""
        with self._lock:
            return np.stack([self._index.reconstruct(int(i)) for i in ids]).astype(np.float32)

    def memory_bytes(self) -> int:
        with self._lock:
            return int(faiss.serialize_index(self._index).nbytes)

    def describe(self, count: int, checksum: str) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "dimension": self.dimension,
            "metric": "inner_product",
            "kind": self.kind,
            "nprobe": self.nprobe,
            "count": count,
            "catalogue_seq": self.catalogue_seq,
            "sha256": checksum,
            "version": FORMAT_VERSION,
        }

    def to_bytes(self) -> tuple[bytes, dict[str, Any]]:
        """The serialised index and its sidecar, taken together under the lock."""
        with self._lock:
            data = faiss.serialize_index(self._index).tobytes()
            return data, self.describe(len(self), hashlib.sha256(data).hexdigest())

    def save(self, path: Path) -> dict[str, Any]:
        """Write atomically (temporary file and rename), with a sidecar describing the index."""
        data, sidecar = self.to_bytes()
        write_atomically(path, data)
        write_atomically(sidecar_of(path), json.dumps(sidecar, indent=2).encode())
        return sidecar

    @classmethod
    def from_bytes(
        cls, data: bytes, sidecar: dict[str, Any], *, model_id: str, dimension: int, origin: str
    ) -> SpecimenIndex:
        """Check and open a serialised index; refuse another model's or a damaged one."""
        if sidecar.get("model_id") != model_id or sidecar.get("dimension") != dimension:
            raise IndexMismatchError(
                f"index {origin} was built by model {sidecar.get('model_id')} (dimension "
                f"{sidecar.get('dimension')}), not {model_id} ({dimension}); "
                "run `stamplib index rebuild`"
            )
        if sidecar.get("version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {origin} has format {sidecar.get('version')}, this StampLib reads "
                f"{FORMAT_VERSION}; run `stamplib index rebuild`"
            )
        if hashlib.sha256(data).hexdigest() != sidecar.get("sha256"):
            raise IndexMismatchError(
                f"index {origin} is corrupt (checksum mismatch); run `stamplib index rebuild`"
            )
        index = cls(dimension=dimension, model_id=model_id)
        index._index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        index.kind = str(sidecar.get("kind", EXACT))
        index.nprobe = int(sidecar.get("nprobe", 0))
        index.catalogue_seq = int(sidecar.get("catalogue_seq", 0))
        if len(index) != sidecar.get("count"):
            raise IndexMismatchError(
                f"index {origin} holds {len(index)} vectors, sidecar says {sidecar.get('count')}"
            )
        return index

    @classmethod
    def load(cls, path: Path, *, model_id: str, dimension: int) -> SpecimenIndex:
        side = sidecar_of(path)
        if not path.is_file() or not side.is_file():
            raise IndexMismatchError(f"no index at {path}; run `stamplib index rebuild`")
        try:
            sidecar = json.loads(side.read_text())
        except json.JSONDecodeError as exc:
            raise IndexMismatchError(f"index sidecar {side} is not JSON: {exc}") from exc
        return cls.from_bytes(
            path.read_bytes(), sidecar, model_id=model_id, dimension=dimension, origin=str(path)
        )


def _trained_ivf(vectors: NDArray[np.float32], seed: int) -> Any:
    """An untrained-then-trained inverted file of about 4·√n lists, 8-bit codes, id hash map."""
    count, dimension = vectors.shape
    nlist = int(min(65_536, max(64, 4 * math.sqrt(count))))
    quantizer = faiss.IndexFlatIP(dimension)
    ivf = faiss.IndexIVFScalarQuantizer(
        quantizer, dimension, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    ivf.cp.seed = seed
    sample = np.random.default_rng(seed).choice(count, min(count, 40 * nlist), replace=False)
    ivf.train(vectors[np.sort(sample)])
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
    return ivf


def _tuned_nprobe(
    ivf: Any, ids: NDArray[np.int64], vectors: NDArray[np.float32], plan: IndexPlan
) -> int:
    """The fewest probed lists whose recall@10 on a sample of library vectors meets the plan."""
    rng = np.random.default_rng(plan.seed + 1)
    picked = rng.choice(len(vectors), min(plan.tuning_queries, len(vectors)), False)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, positions = exact.search(vectors[picked], 11)
    del exact
    # each sampled vector's 10 nearest other vectors: finding itself would flatter the index
    truth = _without(ids[positions], ids[picked])
    nprobe = 1
    while nprobe < ivf.nlist:
        params = faiss.SearchParametersIVF()
        params.nprobe = nprobe
        _, found = ivf.search(vectors[picked], 11, params=params)
        if recall(_without(found, ids[picked]), truth) >= plan.target_recall:
            break
        nprobe *= 2
    return int(min(nprobe, ivf.nlist))


def _without(rows: NDArray[np.int64], own: NDArray[np.int64]) -> NDArray[np.int64]:
    """Each row without its own id, cut to 10 columns."""
    return np.array([[i for i in row if i != me][:10] for row, me in zip(rows, own, strict=True)])


def recall(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    """Mean share of the true neighbours found, per query (rows of ids)."""
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def sidecar_of(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".json")
