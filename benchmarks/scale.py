"""`stamplib bench --scale`: the specimen index at 10k, 100k and 1M vectors.

Vectors are clustered like stamp embeddings (many designs share a house style): unit
vectors scattered around random centres. Queries are noisy copies of library vectors,
as a photo is a noisy copy of its specimen. Recall@10 is against exact search over the
same vectors; the filtered run keeps 1% of the library, as a country filter would.
"""

from __future__ import annotations

import gc
import json
import logging
import resource
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from benchmarks.metrics import percentiles
from index.specimen_index import IndexPlan, SpecimenIndex, recall

log = logging.getLogger(__name__)
SIZES = (10_000, 100_000, 1_000_000)
QUERIES = 500
FILTER_SHARE = 0.01
CLUSTER_SIZE = 50  # vectors per house style


def clustered_vectors(count: int, dimension: int, rng: np.random.Generator) -> NDArray[np.float32]:
    centres = rng.standard_normal((max(1, count // CLUSTER_SIZE), dimension), dtype=np.float32)
    vectors = np.empty((count, dimension), np.float32)
    step = 100_000
    for start in range(0, count, step):
        stop = min(count, start + step)
        owners = rng.integers(0, len(centres), stop - start)
        noise = rng.standard_normal((stop - start, dimension), dtype=np.float32)
        vectors[start:stop] = centres[owners] + 0.8 * noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def noisy_copies(vectors: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    picked = vectors[rng.choice(len(vectors), QUERIES, replace=False)]
    queries = picked + 0.5 / np.sqrt(vectors.shape[1]) * rng.standard_normal(
        picked.shape, dtype=np.float32
    )
    return (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)


def exact_neighbours(
    vectors: NDArray[np.float32], queries: NDArray[np.float32], ids: NDArray[np.int64]
) -> NDArray[np.int64]:
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, positions = exact.search(queries, 10)
    return ids[positions]


def _timed_search(
    index: SpecimenIndex, queries: NDArray[np.float32], allowed: list[int] | None
) -> tuple[NDArray[np.int64], list[float]]:
    found, latency = [], []
    for query in queries:
        started = time.perf_counter()
        hits = index.search(query, 10, allowed)
        latency.append((time.perf_counter() - started) * 1000)
        found.append([hit.specimen_id for hit in hits] + [-1] * (10 - len(hits)))
    return np.array(found, np.int64), latency


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def measure_size(count: int, dimension: int, seed: int, plan: IndexPlan) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    vectors = clustered_vectors(count, dimension, rng)
    ids = np.arange(1, count + 1, dtype=np.int64) * 7  # catalogue ids are not positions
    queries = noisy_copies(vectors, rng)
    truth = exact_neighbours(vectors, queries, ids)
    allowed_positions = np.sort(rng.choice(count, max(10, int(count * FILTER_SHARE)), False))
    allowed = ids[allowed_positions]
    filtered_truth = exact_neighbours(vectors[allowed_positions], queries, allowed)
    gc.collect()
    rss_before = _rss_mb() - vectors.nbytes / 2**20  # what the process holds without the input
    started = time.perf_counter()
    index = SpecimenIndex.build(
        ids.tolist(), vectors, model_id="scale@synthetic", dimension=dimension, plan=plan
    )
    build_s = time.perf_counter() - started
    del vectors
    gc.collect()
    found, latency = _timed_search(index, queries, None)
    filtered, filtered_latency = _timed_search(index, queries, allowed.tolist())
    result = {
        "kind": index.kind,
        "nprobe": index.nprobe,
        "build_s": round(build_s, 2),
        "memory_mb": round(index.memory_bytes() / 2**20, 1),
        "rss_growth_mb": round(_rss_mb() - rss_before, 1),
        "p50_ms": round(percentiles(latency)["p50"], 3),
        "p95_ms": round(percentiles(latency)["p95"], 3),
        "recall@10": round(recall(found, truth), 4),
        "filtered_share": FILTER_SHARE,
        "filtered_p50_ms": round(percentiles(filtered_latency)["p50"], 3),
        "filtered_p95_ms": round(percentiles(filtered_latency)["p95"], 3),
        "filtered_recall@10": round(recall(filtered, filtered_truth), 4),
        "filtered_full_k": float(np.mean((filtered >= 0).sum(axis=1) == 10)),
    }
    log.info("scale %d: %s", count, result)
    return result


def run_scale(
    sizes: tuple[int, ...] = SIZES, dimension: int = 256, seed: int = 0
) -> dict[str, dict[str, Any]]:
    plan = IndexPlan(seed=seed)
    return {str(count): measure_size(count, dimension, seed, plan) for count in sizes}


def write_scale(out: Path, sizes: tuple[int, ...] = SIZES, seed: int = 0) -> dict[str, Any]:
    """Run the scale benchmark into `out`: scale.json, scale.png, and `scale` in results.json."""
    from benchmarks.plots import plot_scale

    scale = run_scale(sizes, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(scale, indent=2) + "\n")
    plot_scale(scale, out / "scale.png")
    results_path = out / "results.json"
    if results_path.is_file():
        results = json.loads(results_path.read_text())
        results["scale"] = scale
        results_path.write_text(json.dumps(results, indent=2) + "\n")
    return scale
