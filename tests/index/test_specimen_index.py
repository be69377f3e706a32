"""The FAISS index: ids, filtered search returning K, persistence refusing bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import IndexMismatchError, SpecimenIndex


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
