"""Prometheus metrics of one StampLib process (`GET /metrics`, for a signed-in scraper)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.searches = Counter(
            "stamplib_searches", "Searches by decision", ["decision"], registry=self.registry
        )
        self.search_seconds = Histogram(
            "stamplib_search_seconds",
            "Search time from decode to decision",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "stamplib_search_stage_seconds",
            "Search time per stage",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.index_vectors = Gauge(
            "stamplib_index_vectors",
            "Specimens in this process's search index",
            registry=self.registry,
        )

    def observe_search(self, decision: str, timings_ms: dict[str, float]) -> None:
        self.searches.labels(decision=decision).inc()
        for stage, ms in timings_ms.items():
            if stage != "total":
                self.stage_seconds.labels(stage=stage).observe(ms / 1000)
        self.search_seconds.observe(timings_ms.get("total", sum(timings_ms.values())) / 1000)

    def render(self, index_vectors: int | None) -> bytes:
        if index_vectors is not None:
            self.index_vectors.set(index_vectors)
        return generate_latest(self.registry)
