"""The FAISS index: ids, filtered search returning K, persistence refusing bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import IndexMismatchError, SpecimenIndex
from index.specimen_index import IndexPlan


def unit(rng: np.random.Generator, n: int, d: int = 16) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def index() -> SpecimenIndex:
    built = SpecimenIndex(dimension=16, model_id="m@1")
    built.upsert(list(range(100, 300)), unit(np.random.default_rng(0), 200))
    return built


def test_nearest_is_itself_and_upsert_replaces(index: SpecimenIndex) -> None:
    vectors = unit(np.random.default_rng(0), 200)
    assert index.search(vectors[5], 1)[0].specimen_id == 105
    index.upsert([105], vectors[6:7])
    assert len(index) == 200
    assert {hit.specimen_id for hit in index.search(vectors[6], 2)} == {105, 106}
    assert index.remove([105, 999]) == 1
    assert 105 not in index.ids()


def test_selective_filter_still_returns_k(index: SpecimenIndex) -> None:
    allowed = [110, 150, 220, 290, 299]
    hits = index.search(unit(np.random.default_rng(1), 1)[0], 3, allowed)
    assert len(hits) == 3
    assert {hit.specimen_id for hit in hits} <= set(allowed)
    assert index.search(unit(np.random.default_rng(1), 1)[0], 3, []) == []


def test_save_load_and_refusals(index: SpecimenIndex, tmp_path: Path) -> None:
    path = tmp_path / "stamps.faiss"
    index.save(path)
    again = SpecimenIndex.load(path, model_id="m@1", dimension=16)
    probe = unit(np.random.default_rng(2), 1)[0]
    assert again.search(probe, 5) == index.search(probe, 5)
    with pytest.raises(IndexMismatchError, match="built by model m@1"):
        SpecimenIndex.load(path, model_id="other@2", dimension=16)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexMismatchError, match="corrupt"):
        SpecimenIndex.load(path, model_id="m@1", dimension=16)
    with pytest.raises(IndexMismatchError, match="no index"):
        SpecimenIndex.load(tmp_path / "missing.faiss", model_id="m@1", dimension=16)


def clustered(rng: np.random.Generator, n: int, d: int = 32) -> np.ndarray:
    centres = rng.normal(size=(n // 20, d)).astype(np.float32)
    v = centres[rng.integers(0, len(centres), n)] + 0.8 * rng.normal(size=(n, d)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def large() -> tuple[SpecimenIndex, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    vectors = clustered(rng, 6000)
    ids = np.arange(6000, dtype=np.int64) * 3 + 1
    plan = IndexPlan(exact_up_to=1000, tuning_queries=100)
    built = SpecimenIndex.build(ids.tolist(), vectors, model_id="m@1", dimension=32, plan=plan)
    return built, ids, vectors


def exact_top(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> set[int]:
    return set(ids[np.argsort(-(vectors @ query))[:k]].tolist())


def test_a_large_library_gets_a_tuned_approximate_index(
    large: tuple[SpecimenIndex, np.ndarray, np.ndarray],
) -> None:
    index, ids, vectors = large
    assert index.kind == "ivf-sq8"
    assert 1 <= index.nprobe <= index._index.nlist
    assert sorted(index.ids().tolist()) == ids.tolist()
    rng = np.random.default_rng(4)
    found = []
    for position in rng.choice(len(ids), 50, replace=False):
        query = vectors[position]
        hits = {hit.specimen_id for hit in index.search(query, 10)}
        found.append(len(hits & exact_top(vectors, ids, query, 10)) / 10)
    assert np.mean(found) >= 0.9


def test_an_approximate_index_filters_removes_and_survives_a_reload(
    large: tuple[SpecimenIndex, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    index, ids, vectors = large
    rng = np.random.default_rng(5)
    allowed = np.sort(rng.choice(ids, 60, replace=False))
    positions = np.searchsorted(ids, allowed)
    query = vectors[7]
    hits = index.search(query, 10, allowed.tolist())
    assert len(hits) == 10
    truth = exact_top(vectors[positions], allowed, query, 10)
    assert len({hit.specimen_id for hit in hits} & truth) >= 9
    nearest = index.search(query, 1)[0].specimen_id
    assert index.search(query, 1, excluded=[nearest])[0].specimen_id != nearest
    path = tmp_path / "large.faiss"
    index.save(path)
    again = SpecimenIndex.load(path, model_id="m@1", dimension=32)
    assert again.kind == index.kind and again.nprobe == index.nprobe
    assert again.search(query, 10) == index.search(query, 10)
    assert again.remove([nearest, 2]) == 1  # id 2 was never in the index
    assert nearest not in {hit.specimen_id for hit in again.search(query, 10)}
    again.upsert([nearest], vectors[7:8])
    assert again.search(query, 1)[0].specimen_id == nearest
    assert len(again) == len(ids)
