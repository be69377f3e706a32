"""Normalisation helpers shared by specimens and photos."""

from __future__ import annotations

import numpy as np
import pytest

from vision.normalise import byte_percentile

QUANTILES = (0, 0.5, 1, 2, 35, 50, 60, 90, 97, 98, 99, 99.5, 100)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 1), (31, 17), (297, 448)])
def test_a_byte_images_percentile_from_its_histogram_is_numpys_to_the_bit(
    shape: tuple[int, int],
) -> None:
    rng = np.random.default_rng(sum(shape))
    images = [
        rng.integers(0, 256, shape, dtype=np.uint8),
        np.full(shape, 200, np.uint8),
        # mostly paper with a little ink, as an ink map is
        np.where(rng.random(shape) < 0.03, rng.integers(60, 256, shape), 0).astype(np.uint8),
    ]
    for image in images:
        for q in QUANTILES:
            assert byte_percentile(image, q) == float(np.percentile(image, q)), (shape, q)
