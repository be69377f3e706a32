"""The benchmark table the README shows, from results.json."""

from __future__ import annotations

from typing import Any

SPLIT_ORDER = ("scan", "phone", "hard")


def _rows(name: str, splits: dict[str, Any], latency: dict[str, Any]) -> list[str]:
    rows = []
    for split in SPLIT_ORDER:
        s = splits.get(split)
        if not s:
            continue
        recalls = " | ".join(f"{s[f'recall@{k}']:.3f}" for k in (1, 5, 10))
        p50, p95 = latency.get("p50", 0), latency.get("p95", 0)
        timing = f"{p50:.0f} | {p95:.0f}" if latency else "– | –"
        rows.append(
            f"| {name} | {split} | {recalls} | {s['mAP']:.3f} | {s['queries']} | {timing} |"
        )
    return rows


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
        rows += _rows(name, method["splits"], method.get("latency_ms", {}))
        for stage, splits in method.get("ablation", {}).items():
            rows += _rows(f"{name}: {stage.replace('_', ' ')}", splits, {})
    lines = [head, *rows, ""]
    decision = results["methods"].get("stamplib", {}).get("decision")
    if decision:
        neighbour = decision.get("unknown_neighbour_match_rate", 0.0)
        lines.append(
            f"Decisions: {decision['genuine_match_rate']:.1%} of genuine phone queries decided "
            f"`match`; {decision['unknown_false_match_rate']:.1%} of {decision['unknown_queries']} "
            "unknown stamps wrongly decided `match`"
            + (
                f" ({neighbour:.1%} more matched a genuine library stamp beside them that "
                "localisation searched instead of them)."
                if neighbour
                else "."
            )
        )
    ingestion = results.get("ingestion", {})
    rate = ingestion.get("per_s", 0)
    lines.append(
        f"Ingestion: {ingestion.get('specimens', 0)} specimens at {rate:.1f}/s; "
        f"peak RSS {results.get('peak_rss_mb', 0):.0f} MB."
    )
    compare = results.get("compare")
    if compare:
        lines.append(
            f"Comparison ({compare['pairs']} genuine phone photos and {compare['pairs']} forged "
            f"variants): genuine flagged {compare['genuine_flag_rate']:.1%}, forged flagged "
            f"{compare['forged_flag_rate']:.1%}, AUC {compare['auc']:.3f}, "
            f"p50 {compare['latency_ms']['p50']:.0f} ms."
        )
        if read := compare.get("lines"):
            lines.append(
                f"Text read line by line ({read['photos']} aligned genuine photos, "
                f"{read['fixed_lines']} fixed lines): {read['alike']} read alike, "
                f"{read['differently']} differently, {read['unread']} not at all; "
                f"{read['photos_marked']:.1%} of the photos show a line read otherwise."
            )
    return "\n".join(lines)


def scale_table(scale: dict[str, dict[str, Any]]) -> str:
    """The vector index at each size: the rows the README shows."""
    lines = [
        "| vectors | index | build s | memory MB | p50 ms | p95 ms | recall@10 "
        "| 1% filter p50 ms | 1% filter recall@10 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size in sorted(scale, key=int):
        row = scale[size]
        kind = row["kind"] + (f" (nprobe {row['nprobe']})" if row["nprobe"] else "")
        lines.append(
            f"| {int(size):,} | {kind} | {row['build_s']:.1f} | {row['memory_mb']:.0f} "
            f"| {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | {row['recall@10']:.3f} "
            f"| {row['filtered_p50_ms']:.2f} | {row['filtered_recall@10']:.3f} |"
        )
    return "\n".join(lines)
