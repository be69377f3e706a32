"""`stamplib bench`: build a synthetic world, ingest it for real, query it, measure, compare."""

from __future__ import annotations

import json
import logging
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.db import session_scope
from app.core.settings import Settings
from app.services import open_services
from benchmarks.baselines import Method, OrbBruteForce, PerceptualHash
from benchmarks.library import write_manifest
from benchmarks.metrics import percentiles, retrieval_summary
from benchmarks.plots import contact_sheet, plot_latency, plot_recall
from benchmarks.report import markdown_table
from ingestion.bulk import ingest_manifest
from vision.imageio import decode_image
from vision.synth.design import twin_fraction
from vision.synth.world import SPLITS, Query, SyntheticWorld

log = logging.getLogger(__name__)
TOP_K = 10


@dataclass(frozen=True, kw_only=True)
class BenchOptions:
    out: Path
    seed: int = 0
    specimens: int = 1000
    queries_per_split: int = 200
    unknown_queries: int = 200
    orb_queries_per_split: int = 50

    @classmethod
    def quick(cls, out: Path, seed: int = 0) -> BenchOptions:
        return cls(
            out=out,
            seed=seed,
            specimens=200,
            queries_per_split=40,
            unknown_queries=40,
            orb_queries_per_split=40,
        )


@dataclass
class _MethodRun:
    method: Method
    limit: int
    ranked: dict[str, list[list[int]]]
    truth: dict[str, list[int]]
    latency_ms: list[float]
    stages: dict[str, list[float]]
    build_s: float = 0.0


def _ingest(world: SyntheticWorld, work: Path) -> tuple[list[int], dict[str, Any], list[Any]]:
    """Render the specimens as a manifest and ingest it through the real bulk path."""
    started = time.perf_counter()
    manifest = write_manifest(world, work / "manifest")
    render_s = time.perf_counter() - started
    settings = Settings(data_dir=work / "library")
    services = open_services(settings)
    with session_scope(services.engine) as session:
        report = ingest_manifest(session, services.store, manifest, actor="bench")
    services.close()
    if report.errors:
        raise RuntimeError(f"ingestion of the synthetic library failed: {report.errors[:3]}")
    images = [
        decode_image((manifest.parent / f"images/{i:05d}.png").read_bytes()).rgb
        for i in range(len(world.designs))
    ]
    stats = {
        "specimens": len(report.added),
        "seconds": round(report.seconds, 2),
        "per_s": round(len(report.added) / max(report.seconds, 1e-9), 2),
        "render_s": round(render_s, 2),
    }
    return report.added, stats, images


def _search(run: _MethodRun, query: Query, truth_id: int) -> None:
    ranked, stages = run.method.search(query.photo.rgb, TOP_K)
    run.ranked[query.split].append([specimen_id for specimen_id, _ in ranked])
    run.truth[query.split].append(truth_id)
    run.latency_ms.append(sum(stages.values()))
    for stage, ms in stages.items():
        run.stages.setdefault(stage, []).append(ms)


def run_benchmark(options: BenchOptions) -> dict[str, Any]:
    out = options.out
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    world = SyntheticWorld(seed=options.seed, specimens=options.specimens)
    log.info(
        "world: %d specimens, twin share %.2f", len(world.designs), twin_fraction(world.designs)
    )
    specimen_ids, ingestion, images = _ingest(world, work)
    runs = [
        _MethodRun(
            PerceptualHash(),
            options.queries_per_split,
            {s: [] for s in SPLITS},
            {s: [] for s in SPLITS},
            [],
            {},
        ),
        _MethodRun(
            OrbBruteForce(),
            options.orb_queries_per_split,
            {s: [] for s in SPLITS},
            {s: [] for s in SPLITS},
            [],
            {},
        ),
    ]
    for run in runs:
        started = time.perf_counter()
        for specimen_id, rgb in zip(specimen_ids, images, strict=True):
            run.method.add(specimen_id, rgb)
        run.build_s = time.perf_counter() - started
    del images
    for split in SPLITS:
        for index in range(options.queries_per_split):
            query = world.query(split, index)
            assert query.design_index is not None
            for run in runs:
                if index < run.limit:
                    _search(run, query, specimen_ids[query.design_index])
        log.info("split %s: %d queries done", split, options.queries_per_split)
    results = _results(options, world, ingestion, runs)
    _write(out, world, results, runs)
    return results


def _results(
    options: BenchOptions, world: SyntheticWorld, ingestion: dict[str, Any], runs: list[_MethodRun]
) -> dict[str, Any]:
    methods = {}
    for run in runs:
        methods[run.method.name] = {
            "splits": {
                split: retrieval_summary(run.ranked[split], run.truth[split]) for split in SPLITS
            },
            "latency_ms": {
                **percentiles(run.latency_ms),
                "stages": {name: percentiles(values) for name, values in run.stages.items()},
            },
            "build_s": round(run.build_s, 2),
        }
    return {
        "seed": options.seed,
        "specimens": len(world.designs),
        "queries_per_split": options.queries_per_split,
        "unknown_queries": options.unknown_queries,
        "twin_share": round(twin_fraction(world.designs), 3),
        "ingestion": ingestion,
        "methods": methods,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _write(
    out: Path, world: SyntheticWorld, results: dict[str, Any], runs: list[_MethodRun]
) -> None:
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(markdown_table(results) + "\n")
    plot_recall(results, out / "recall.png")
    plot_latency({run.method.name: run.latency_ms for run in runs}, out / "latency.png")
    contact_sheet(world, out / "contact_sheet.png")
    shutil.rmtree(out / "work", ignore_errors=True)
