"""The descriptor index: votes find a specimen by its own descriptors, exact and inverted-file."""

from __future__ import annotations

import numpy as np
import pytest

from index import DescriptorIndex
from index.descriptor_index import IVF_FROM


def descriptors(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(0, 60, (count, 128)).astype(np.uint8)


@pytest.mark.parametrize("specimens", [10, IVF_FROM // 300 + 10])
def test_votes_find_a_specimen_from_its_noisy_descriptors(specimens: int) -> None:
    rng = np.random.default_rng(0)
    library = {specimen_id: descriptors(rng, 300) for specimen_id in range(1, specimens + 1)}
    index = DescriptorIndex()
    index.bulk_load(list(library.items()))
    noisy = np.clip(library[7].astype(int) + rng.integers(-3, 4, (300, 128)), 0, 255)
    votes = index.neighbours(noisy.astype(np.uint8)).votes()
    assert max(votes, key=votes.__getitem__) == 7

    index.remove(7)
    assert 7 not in index.neighbours(noisy.astype(np.uint8)).votes()
    index.add(7, library[7])  # added one by one, as a follower adds a new specimen
    votes = index.neighbours(noisy.astype(np.uint8)).votes()
    assert max(votes, key=votes.__getitem__) == 7
    assert len(index) == specimens * 300
