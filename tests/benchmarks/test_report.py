from __future__ import annotations

from benchmarks.report import markdown_table

SPLIT = {"recall@1": 0.5, "recall@5": 0.75, "recall@10": 1.0, "mAP": 0.6, "queries": 4}


def test_table_lists_methods_ablations_and_decisions() -> None:
    results = {
        "seed": 0,
        "specimens": 10,
        "queries_per_split": 4,
        "twin_share": 0.5,
        "ingestion": {"specimens": 10, "per_s": 12.5},
        "peak_rss_mb": 100,
        "methods": {
            "stamplib": {
                "splits": {"phone": SPLIT},
                "latency_ms": {"p50": 120.0, "p95": 250.0},
                "ablation": {"embedding_only": {"phone": SPLIT}},
                "decision": {
                    "genuine_match_rate": 0.9,
                    "unknown_false_match_rate": 0.01,
                    "unknown_queries": 100,
                },
            },
        },
    }
    table = markdown_table(results)
    assert "| stamplib | phone | 0.500 | 0.750 | 1.000 | 0.600 | 4 | 120 | 250 |" in table
    assert "| stamplib: embedding only | phone | 0.500" in table
    assert "90.0% of genuine phone queries decided `match`; 1.0% of 100 unknown" in table
    assert "10 specimens at 12.5/s" in table
