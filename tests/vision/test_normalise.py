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


def test_a_byte_percentile_counts_exactly_beyond_float32s_integers() -> None:
    """Over 2**24 pixels of one value (a 16.8-megapixel image), a float32 count is rounded."""
    image = np.zeros((4100, 4100), np.uint8)
    image[0, 0] = 255
    # halfway between the last 0 and the single 255, were the zeros counted one too many
    q = 100 * (image.size - 1.5) / (image.size - 1)
    assert byte_percentile(image, q) == float(np.percentile(image, q)) > 100
