from __future__ import annotations

from benchmarks.compare_bench import Outcome, lines_read
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


def test_the_lines_genuine_photos_read_are_counted_and_reported() -> None:
    """Only aligned genuine photos count; a photo with a line read otherwise is marked."""
    outcomes = [
        Outcome("font", False, False, 0.2, 300.0, (True, True)),
        Outcome("font", False, True, 1.5, 300.0, (True, False, None)),
        Outcome("font", False, True, float("inf"), 300.0),  # not aligned
        Outcome("font", True, True, 2.0, 300.0, (False,)),  # forged: not counted
    ]
    read = lines_read(outcomes)
    assert read == {
        "photos": 2,
        "fixed_lines": 5,
        "alike": 3,
        "differently": 1,
        "unread": 1,
        "photos_marked": 0.5,
    }
    compare = {"pairs": 3, "genuine_flag_rate": 0.6, "forged_flag_rate": 1.0, "auc": 0.9}
    results = {"seed": 0, "specimens": 1, "queries_per_split": 1, "methods": {}}
    table = markdown_table(
        {**results, "compare": {**compare, "lines": read, "latency_ms": {"p50": 300.0}}}
    )
    assert "(2 aligned genuine photos, 5 fixed lines): 3 read alike, 1 differently" in table
    assert "50.0% of the photos show a line read otherwise" in table
