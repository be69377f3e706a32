"""`stamplib bench`: build a synthetic world, ingest it for real, query it, measure, compare."""

from __future__ import annotations

import json
import logging
import resource
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.baselines import Method, OrbBruteForce, PerceptualHash
from benchmarks.compare_bench import run_compare_bench
from benchmarks.harness import QueryRecord, build_library, search_query
from benchmarks.metrics import decision_summary, percentiles, retrieval_summary
from benchmarks.plots import contact_sheet, plot_latency, plot_recall
from benchmarks.report import markdown_table
from vision.imageio import decode_image
from vision.models import DEFAULT_WEIGHTS
from vision.synth.design import twin_fraction
from vision.synth.world import SPLITS, Query, SyntheticWorld

log = logging.getLogger(__name__)
TOP_K = 10
SEPARATE = ("scale", "ingest_scale", "search_scale")  # results of benchmarks run on their own


@dataclass(frozen=True, kw_only=True)
class BenchOptions:
    out: Path
    seed: int = 0
    specimens: int = 1000
    queries_per_split: int = 200
    unknown_queries: int = 200
    orb_queries_per_split: int = 50
    forgery_pairs: int = 100
    system: bool = True  # measure StampLib's own search (needs the model weights)

    @classmethod
    def quick(cls, out: Path, seed: int = 0) -> BenchOptions:
        return cls(
            out=out,
            seed=seed,
            specimens=200,
            queries_per_split=40,
            unknown_queries=40,
            orb_queries_per_split=40,
            forgery_pairs=20,
        )


@dataclass
class _BaselineRun:
    method: Method
    limit: int
    ranked: dict[str, list[list[int]]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    truth: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    latency_ms: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)
    build_s: float = 0.0

    def search(self, query: Query, truth_id: int) -> None:
        ranked, stages = self.method.search(query.photo.rgb, TOP_K)
        self.ranked[query.split].append([specimen_id for specimen_id, _ in ranked])
        self.truth[query.split].append(truth_id)
        self.latency_ms.append(sum(stages.values()))
        for stage, ms in stages.items():
            self.stages.setdefault(stage, []).append(ms)

    def summary(self) -> dict[str, Any]:
        return {
            "splits": {
                split: retrieval_summary(self.ranked[split], self.truth[split]) for split in SPLITS
            },
            "latency_ms": {
                **percentiles(self.latency_ms),
                "stages": {name: percentiles(values) for name, values in self.stages.items()},
            },
            "build_s": round(self.build_s, 2),
        }


def system_summary(records: list[QueryRecord], ingestion: dict[str, Any]) -> dict[str, Any]:
    """StampLib's row: recall of the full pipeline and of each stage alone, decisions, latency.

    The ablations rank the same shortlist by one kind of evidence only: `embedding_only` by
    the model's similarity, `votes_only` by descriptor votes (no model, no verification);
    `without_twins` by the fused score, as search ranks before near-twins are settled.
    """
    genuine = [r for r in records if r.truth is not None]
    splits: dict[str, Any] = {}
    ablation: dict[str, dict[str, Any]] = {
        "embedding_only": {},
        "votes_only": {},
        "without_twins": {},
    }
    for split in SPLITS:
        subset = [r for r in genuine if r.split == split]
        truth = [r.truth for r in subset]
        splits[split] = retrieval_summary([r.ranked() for r in subset], truth)
        ablation["embedding_only"][split] = retrieval_summary(
            [r.ranked_by_embedding() for r in subset], truth
        )
        ablation["votes_only"][split] = retrieval_summary(
            [r.ranked_by_votes() for r in subset], truth
        )
        ablation["without_twins"][split] = retrieval_summary(
            [r.ranked_by_score() for r in subset], truth
        )
    stage_names = sorted({name for r in records for name in r.timings_ms})
    unknown = [r.decision for r in records if r.truth is None]
    phone = [r.decision for r in genuine if r.split == "phone"]
    decisions: dict[str, Any] = dict(
        decision_summary(phone, unknown, [r.right_first() for r in records if r.truth is None])
    )
    decisions["genuine_top1_correct_when_match"] = round(
        float(
            np.mean(
                [float(r.ranked()[0] == r.truth) for r in genuine if r.decision == "match"] or [0.0]
            )
        ),
        4,
    )
    decisions["by_split"] = {
        split: {
            d: sum(r.decision == d for r in genuine if r.split == split)
            for d in ("match", "uncertain", "no_match")
        }
        for split in SPLITS
    }
    decisions["unknown"] = {d: unknown.count(d) for d in ("match", "uncertain", "no_match")}
    totals = [sum(r.timings_ms.values()) for r in records]
    return {
        "splits": splits,
        "ablation": ablation,
        "decision": decisions,
        "latency_ms": {
            **percentiles(totals),
            "stages": {
                n: percentiles([r.timings_ms.get(n, 0.0) for r in records]) for n in stage_names
            },
        },
        "ingest_per_s": ingestion["per_s"],
    }


def _specimen_images(work: Path, count: int) -> list[NDArray[np.uint8]]:
    return [
        decode_image((work / f"manifest/images/{i:05d}.png").read_bytes()).rgb for i in range(count)
    ]


def run_benchmark(options: BenchOptions) -> dict[str, Any]:
    out = options.out
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    world = SyntheticWorld(seed=options.seed, specimens=options.specimens)
    with_system = options.system and DEFAULT_WEIGHTS.is_file()
    log.info(
        "world: %d specimens, twin share %.2f; StampLib search %s",
        len(world.designs),
        twin_fraction(world.designs),
        "on" if with_system else "off (no model weights)",
    )
    services, specimen_ids, ingestion = build_library(world, work, with_search=with_system)
    baselines = [
        _BaselineRun(PerceptualHash(), options.queries_per_split),
        _BaselineRun(OrbBruteForce(), options.orb_queries_per_split),
    ]
    images = _specimen_images(work, len(world.designs))
    for run in baselines:
        started = time.perf_counter()
        for specimen_id, rgb in zip(specimen_ids, images, strict=True):
            run.method.add(specimen_id, rgb)
        run.build_s = time.perf_counter() - started
    del images
    records: list[QueryRecord] = []
    for split in SPLITS:
        for index in range(options.queries_per_split):
            query = world.query(split, index)
            assert query.design_index is not None
            if with_system:
                records.append(search_query(services, query, specimen_ids))
            for run in baselines:
                if index < run.limit:
                    run.search(query, specimen_ids[query.design_index])
        log.info("split %s: %d queries done", split, options.queries_per_split)
    if with_system:
        records += [
            search_query(services, world.unknown_query(i), specimen_ids)
            for i in range(options.unknown_queries)
        ]
    services.close()
    methods: dict[str, Any] = {}
    if with_system:
        methods["stamplib"] = {
            **system_summary(records, ingestion),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    methods.update({run.method.name: run.summary() for run in baselines})
    results = {
        "seed": options.seed,
        "specimens": len(world.designs),
        "queries_per_split": options.queries_per_split,
        "unknown_queries": options.unknown_queries if with_system else 0,
        "twin_share": round(twin_fraction(world.designs), 3),
        "ingestion": ingestion,
        "methods": methods,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if options.forgery_pairs:
        results["compare"] = run_compare_bench(
            out, options.seed, options.specimens, options.forgery_pairs
        )
    latencies = {run.method.name: run.latency_ms for run in baselines}
    if with_system:
        latencies["stamplib"] = [sum(r.timings_ms.values()) for r in records]
    _write(out, world, results, latencies)
    return results


def _write(
    out: Path, world: SyntheticWorld, results: dict[str, Any], latencies: dict[str, list[float]]
) -> None:
    path = out / "results.json"
    # the benchmarks run on their own (--scale, --ingest-scale, --search-scale) stay
    earlier = json.loads(path.read_text()) if path.is_file() else {}
    kept = {key: earlier[key] for key in SEPARATE if key in earlier and key not in results}
    path.write_text(json.dumps({**results, **kept}, indent=2) + "\n")
    (out / "results.md").write_text(markdown_table(results) + "\n")
    plot_recall(results, out / "recall.png")
    plot_latency(latencies, out / "latency.png")
    contact_sheet(world, out / "contact_sheet.png")
    shutil.rmtree(out / "work", ignore_errors=True)
