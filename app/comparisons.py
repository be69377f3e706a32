"""Comparisons as the app keeps them: run one, store its images, fetch them back by id.

The images (the reference, the aligned second image, the overlay and the heat map) are
written to the object store under a random id, so any replica can serve them and a check
report can embed them. Names are fixed here; nothing from the request becomes a key.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.core.models import Specimen
from app.core.storage import ObjectStore
from vision.compare import Comparison, compare_images, summary
from vision.imageio import encode_jpeg
from vision.localise import crop as crop_box
from vision.localise import primary_crop

NAMESPACE = "comparisons"
IMAGES = ("reference", "aligned", "overlay", "heatmap")
_ID = re.compile(r"^[0-9a-f]{32}$")


class ComparisonNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class StoredComparison:
    id: str
    result: dict[str, object]


def run_comparison(
    store: ObjectStore,
    reference: NDArray[np.uint8],
    other: NDArray[np.uint8],
    *,
    mode: str,
    box: tuple[int, int, int, int] | None = None,
    find_stamp: bool = False,
) -> StoredComparison:
    """Compare `other` (cropped to `box`, or to its stamp when `find_stamp`) with `reference`."""
    if box is not None:
        other = crop_box(other, box)
    elif find_stamp:
        other, _ = primary_crop(other)
    comparison = compare_images(reference, other, mode=mode)
    return store_comparison(store, comparison)


def true_size(specimen: Specimen | None) -> str:
    """What an officer is told of the impression's size, on the comparison page and in the
    report: a photo has no scale, so a stamp made larger or smaller than the genuine one
    shows only against a ruler."""
    if specimen is not None and specimen.width_mm and specimen.height_mm:
        return (
            "A photo does not show it; measure the impression. The genuine stamp measures "
            f"{specimen.width_mm:g} × {specimen.height_mm:g} mm."
        )
    return (
        "A photo does not show it; measure the impression against the specimen's record "
        "(no size is catalogued for this specimen)."
    )


def line_finding(line: dict[str, Any]) -> str:
    """What one line of a comparison's `lines_read` shows, on the comparison page and in
    the report: a date or counter varies; a fixed line reads the same on the photo, reads
    otherwise, or cannot be read there."""
    if line.get("kind") != "fixed":
        return f"varies ({line.get('kind')})"
    if line.get("alike") is None:
        return "not readable on the photo"
    return "reads the same" if line.get("alike") else "reads otherwise"


def store_comparison(store: ObjectStore, comparison: Comparison) -> StoredComparison:
    comparison_id = uuid.uuid4().hex
    images = {
        "reference": comparison.a_work,
        "aligned": comparison.aligned_b,
        "overlay": comparison.overlay,
        "heatmap": comparison.heatmap,
    }
    for name, rgb in images.items():
        store.put(_key(comparison_id, name), encode_jpeg(rgb, quality=90), "image/jpeg")
    result = {
        "comparison_id": comparison_id,
        **summary(comparison),
        **{f"{name}_url": f"/api/v1/compare/{comparison_id}/{name}.jpg" for name in IMAGES},
    }
    store.put(_key(comparison_id, "result"), json.dumps(result).encode(), "application/json")
    return StoredComparison(comparison_id, result)


def _key(comparison_id: str, name: str) -> str:
    if not _ID.match(comparison_id) or name not in (*IMAGES, "result"):
        raise ComparisonNotFoundError(f"no comparison image {comparison_id}/{name}")
    suffix = "json" if name == "result" else "jpg"
    return f"{NAMESPACE}/{comparison_id}/{name}.{suffix}"


def comparison_image(store: ObjectStore, comparison_id: str, name: str) -> bytes:
    return store.get(_key(comparison_id, name))


def comparison_result(store: ObjectStore, comparison_id: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(store.get(_key(comparison_id, "result")))
    return data
