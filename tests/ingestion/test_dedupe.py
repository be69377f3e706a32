"""Near-duplicates: a rescan of a specimen is flagged, its near-twin design is not."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from index import SpecimenIndex
from ingestion.dedupe import CLOSE_FROM, NearDuplicates
from tests.conftest import encode
from tests.ingestion.test_jobs import HEADER
from tests.test_cli import run
from vision.embedder import Embedder
from vision.imageio import decode_image, encode_jpeg
from vision.pipeline import vectorise
from vision.synth.world import SyntheticWorld


def rescan(rgb: np.ndarray) -> np.ndarray:
    """The same specimen scanned again: another resolution, JPEG at quality 85. (At 0.7x
    and quality 80 this specimen's smallest line is no longer resolved well enough to agree,
    as for about 17% of such rescans; `ingestion.dedupe` gives the measured rates.)"""
    smaller = cv2.resize(rgb, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    return decode_image(encode_jpeg(np.asarray(smaller, np.uint8), quality=85)).rgb


def test_a_rescan_is_flagged_and_a_near_twin_is_not() -> None:
    world = SyntheticWorld(seed=7777, specimens=4)
    entry, exit_ = world.specimen(0), world.specimen(1)  # one BCP: only the direction differs
    assert world.designs[0].bcp_name == world.designs[1].bcp_name
    embedder = Embedder()
    first, twin, again = vectorise(embedder, [entry, exit_, rescan(entry)])
    # the embedding alone cannot tell them: the twin is as close as the rescan, or closer
    assert float(first.embedding @ twin.embedding) >= CLOSE_FROM
    assert float(first.embedding @ again.embedding) >= CLOSE_FROM

    stored = {1: first.features, 2: twin.features, 3: again.features}  # stored before checked
    duplicates = NearDuplicates(
        SpecimenIndex(dimension=embedder.dimension, model_id="m@1"),
        lambda ids: {i: stored[i] for i in ids},
    )
    assert duplicates.similar(1, first.embedding, first.features) == []
    assert duplicates.similar(2, twin.embedding, twin.features) == []
    flagged = duplicates.similar(3, again.embedding, again.features)
    assert [specimen for specimen, _ in flagged] == [1]
    assert flagged[0][1] == round(float(first.embedding @ again.embedding), 4)


def _bundle(folder: Path, images: dict[str, np.ndarray]) -> Path:
    """A manifest folder of these images, one row each (names tell entry and exit apart)."""
    folder.mkdir(parents=True)
    lines = [",".join(HEADER)]
    for name, rgb in images.items():
        (folder / f"{name}.png").write_bytes(encode(rgb))
        direction = "exit" if name.startswith("exit") else "entry"
        lines.append(f"{name}.png,THA,Savan Land Port,{direction},land,2020-01-01")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_ingestion_flags_a_rescan_of_a_stored_specimen_only(tmp_path: Path) -> None:
    """Through `stamplib ingest` on the catalogue: a near-twin pair stored together flags
    nothing; a later job's rescan of one of them is flagged against the stored one."""
    world = SyntheticWorld(seed=7777, specimens=4)
    data = tmp_path / "data"
    first = run(
        [
            "ingest",
            str(_bundle(tmp_path / "a", {"entry": world.specimen(0), "exit": world.specimen(1)})),
        ],
        data,
    )
    assert first.returncode == 0, first.stderr
    assert "2 added, 0 already in the library, 0 errors, 0 flagged" in first.stdout
    second = run(
        ["ingest", str(_bundle(tmp_path / "b", {"entry-rescan": rescan(world.specimen(0))}))], data
    )
    assert second.returncode == 0, second.stderr
    assert "1 added, 0 already in the library, 0 errors, 1 flagged" in second.stdout
    flags = [line for line in second.stderr.splitlines() if line.startswith("flagged:")]
    assert len(flags) == 1 and "specimen 3 looks like specimen 1" in flags[0], flags
