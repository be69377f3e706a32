"""The benchmark table the README shows, from results.json."""

from __future__ import annotations

from typing import Any

SPLIT_ORDER = ("scan", "phone", "hard")


def markdown_table(results: dict[str, Any]) -> str:
    head = (
        f"Seed {results['seed']}, {results['specimens']} specimens, "
        f"{results['queries_per_split']} queries per split "
        f"(near-twin share {results.get('twin_share', 0):.0%}).\n\n"
        "| method | split | recall@1 | recall@5 | recall@10 | mAP | queries | p50 ms | p95 ms |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    rows = []
    for name, method in results["methods"].items():
        latency = method.get("latency_ms", {})
        for split in SPLIT_ORDER:
            s = method["splits"].get(split)
            if not s:
                continue
            recalls = " | ".join(f"{s[f'recall@{k}']:.3f}" for k in (1, 5, 10))
            p50, p95 = latency.get("p50", 0), latency.get("p95", 0)
            rows.append(
                f"| {name} | {split} | {recalls} | {s['mAP']:.3f} | {s['queries']} "
                f"| {p50:.0f} | {p95:.0f} |"
            )
    ingestion = results.get("ingestion", {})
    rate = ingestion.get("per_s", 0)
    tail = (
        f"\nIngestion: {ingestion.get('specimens', 0)} specimens at {rate:.1f}/s; "
        f"peak RSS {results.get('peak_rss_mb', 0):.0f} MB."
    )
    return "\n".join([head, *rows]) + "\n" + tail
