"""`stamplib bench --search-scale`: search latency on a 10,000-specimen library.

The library holds the benchmark world's 1,000 rendered designs, searched by its phone
photos, plus 9,000 other specimens. Rendering 9,000 more distinct designs would take the
synthetic renderer most of an hour, so the others are rescans of 250 designs of another
world (as in `--ingest-scale`): real stamp images that fill both indexes to 10,000
specimens' worth of vectors and descriptors, ingested through the bulk path. What is
measured is search time end to end at that size; recall is reported too, but rescans are
a gentler crowd than 9,000 distinct designs would be.

The ORB brute-force baseline is timed on the same 10,000 images with a few of the same
photos: it matches every photo against every specimen, so its time grows with the library.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

from app.core.db import session_scope
from benchmarks.baselines import OrbBruteForce
from benchmarks.harness import build_library, search_query
from benchmarks.ingest_scale import write_rescans
from benchmarks.metrics import percentiles, retrieval_summary
from ingestion.bulk import ingest_manifest
from vision.imageio import decode_image
from vision.synth.world import SyntheticWorld

log = logging.getLogger(__name__)
DESIGNS = 1_000
OTHERS = 9_000
OTHER_DESIGNS = 250
ORB_QUERIES = 5  # each takes seconds at this size


def run_search_scale(
    work: Path,
    *,
    seed: int = 0,
    queries: int = 100,
    designs: int = DESIGNS,
    others: int = OTHERS,
    orb_queries: int = ORB_QUERIES,
) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    world = SyntheticWorld(seed=seed, specimens=designs)
    services, specimen_ids, _ = build_library(world, work, with_search=True)
    rescans = write_rescans(
        SyntheticWorld(seed=seed + 1_000, specimens=min(OTHER_DESIGNS, others)),
        others,
        work / "others",
    )
    started = time.perf_counter()
    with session_scope(services.engine) as session:
        report = ingest_manifest(
            session, services.store, rescans, actor="bench", indexer=services.indexer
        )
    ingest_s = time.perf_counter() - started
    if report.errors:
        raise RuntimeError(f"ingestion of the other specimens failed: {report.errors[:3]}")
    library = services.search.live.rebuild_from_catalogue()
    records = [
        search_query(services, world.query("phone", index), specimen_ids)
        for index in range(queries)
    ]
    totals = [sum(record.timings_ms.values()) for record in records]
    stages = sorted({name for record in records for name in record.timings_ms})
    result = {
        "library": library,
        "descriptors": len(services.search.descriptors),
        "others_ingest_s": round(ingest_s, 1),
        "phone": retrieval_summary(
            [record.ranked() for record in records], [record.truth for record in records]
        ),
        "latency_ms": {
            **percentiles(totals),
            "stages": {s: percentiles([r.timings_ms.get(s, 0.0) for r in records]) for s in stages},
        },
    }
    services.close()
    orb = _orb_latency(world, work, orb_queries)
    result["orb_bruteforce"] = orb
    result["orb_over_stamplib_p50"] = round(
        orb["latency_ms"]["p50"] / max(percentiles(totals)["p50"], 1e-9), 1
    )
    shutil.rmtree(work, ignore_errors=True)
    log.info("search at %d specimens: %s", library, result)
    return result


def _orb_latency(world: SyntheticWorld, work: Path, queries: int) -> dict[str, Any]:
    """ORB brute force over the same library: every specimen image, the first few photos.

    The world's designs come first, numbered as the world numbers them."""
    orb = OrbBruteForce()
    started = time.perf_counter()
    images = sorted((work / "manifest" / "images").glob("*.png")) + sorted(
        (work / "others" / "images").glob("*.png")
    )
    for number, path in enumerate(images):
        orb.add(number, decode_image(path.read_bytes()).rgb)
    build_s = time.perf_counter() - started
    latency, found = [], 0
    for index in range(queries):
        query = world.query("phone", index)
        ranked, stages = orb.search(query.photo.rgb, 1)
        latency.append(sum(stages.values()))
        found += bool(ranked) and ranked[0][0] == query.design_index
    log.info("ORB brute force over %d specimens: %s ms", len(images), latency)
    return {
        "library": len(images),
        "queries": queries,
        "recall@1": round(found / max(queries, 1), 3),
        "build_s": round(build_s, 1),
        "latency_ms": percentiles(latency),
    }
