"""`stamplib bench --ingest-scale`: bulk ingestion at 1,000 and 10,000 specimens.

Each size is ingested from scratch by `stamplib ingest` in its own process (the way a
librarian runs it), timed, with its peak memory. Rendering 10,000 distinct designs would
take the synthetic renderer most of an hour, so the manifest holds renders of a few hundred
designs and rescans of them (slightly rotated, scaled and re-lit copies: other bytes, the
same work for ingestion, and flagged as near-duplicates as a rescan should be).
"""

from __future__ import annotations

import csv
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.synth.world import SyntheticWorld

log = logging.getLogger(__name__)
SIZES = (1_000, 10_000)
DESIGNS = 250


def rescan(rgb: NDArray[np.uint8], number: int) -> NDArray[np.uint8]:
    """Another scan of the same specimen: a little rotation, scale and light."""
    if number == 0:
        return rgb
    rng = np.random.default_rng(number)
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D(
        (width / 2, height / 2), float(rng.uniform(-2, 2)), float(rng.uniform(0.97, 1.03))
    )
    moved = cv2.warpAffine(rgb, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    light = moved.astype(np.float32) * float(rng.uniform(0.92, 1.05)) + float(rng.uniform(-6, 6))
    return np.clip(light, 0, 255).astype(np.uint8)


def write_rescans(world: SyntheticWorld, count: int, folder: Path) -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    renders = [world.specimen(i) for i in range(len(world.designs))]
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "country", "bcp_name", "direction", "mode", "shape"])
        for number in range(count):
            design_index = number % len(renders)
            design = world.designs[design_index]
            name = f"images/{number:05d}.png"
            image = rescan(renders[design_index], number // len(renders))
            (folder / name).write_bytes(_png(image))
            writer.writerow(
                [
                    name,
                    design.country.code,
                    design.bcp_name,
                    design.direction,
                    design.mode,
                    design.shape,
                ]
            )
    return folder / "manifest.csv"


def _png(rgb: NDArray[np.uint8]) -> bytes:
    """A quickly compressed PNG: writing 10,000 of them is not what is measured."""
    ok, data = cv2.imencode(
        ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1]
    )
    assert ok
    return data.tobytes()


def ingest_in_process(manifest: Path, data: Path) -> dict[str, Any]:
    """`stamplib ingest` in a child process: seconds and peak RSS."""
    stamplib = str(Path(sys.executable).parent / "stamplib")
    env = {**os.environ, "STAMPLIB_DATA_DIR": str(data)}
    started = time.perf_counter()
    result = subprocess.run(
        [stamplib, "ingest", str(manifest)], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"ingest failed: {result.stderr[-2000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1)}


def run_ingest_scale(work: Path, sizes: tuple[int, ...] = SIZES, seed: int = 0) -> dict[str, Any]:
    world = SyntheticWorld(seed=seed, specimens=DESIGNS)
    results: dict[str, Any] = {}
    for count in sizes:
        folder = work / f"ingest-{count}"
        shutil.rmtree(folder, ignore_errors=True)
        manifest = write_rescans(world, count, folder / "bundle")
        measured = ingest_in_process(manifest, folder / "library")
        measured["per_s"] = round(count / measured["seconds"], 2)
        results[str(count)] = measured
        log.info("ingestion of %d specimens: %s", count, measured)
        shutil.rmtree(folder, ignore_errors=True)
    first, last = (results[str(size)] for size in (sizes[0], sizes[-1]))
    growth = sizes[-1] / sizes[0]
    results["time_growth"] = round(last["seconds"] / first["seconds"], 2)
    results["memory_growth"] = round(last["peak_rss_mb"] / first["peak_rss_mb"], 2)
    results["size_growth"] = growth
    return results
