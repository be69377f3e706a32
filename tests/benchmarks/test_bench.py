"""The benchmark harness end to end on a tiny world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from benchmarks.run import BenchOptions, run_benchmark


@pytest.mark.slow
def test_tiny_bench_writes_results_plots_and_contact_sheet(tmp_path: Path) -> None:
    options = BenchOptions(
        out=tmp_path,
        specimens=12,
        queries_per_split=3,
        unknown_queries=3,
        orb_queries_per_split=2,
        forgery_pairs=4,
    )
    results = run_benchmark(options)
    written = json.loads((tmp_path / "results.json").read_text())
    assert written == results
    assert written["specimens"] == 12
    assert written["ingestion"]["specimens"] == 12
    for name in ("phash", "orb_bruteforce"):
        splits = written["methods"][name]["splits"]
        assert set(splits) == {"scan", "phone", "hard"}
        assert {"recall@1", "recall@5", "recall@10", "mAP", "queries"} <= set(splits["phone"])
        assert written["methods"][name]["latency_ms"]["p95"] > 0
    assert written["methods"]["orb_bruteforce"]["splits"]["hard"]["queries"] == 2
    for picture in ("recall.png", "latency.png", "contact_sheet.png"):
        assert (tmp_path / picture).stat().st_size > 10_000
    assert written["compare"]["pairs"] == 4
    assert (tmp_path / "compare_roc.png").is_file()
    assert not (tmp_path / "work").exists()

    # the comparison alone, run again: merged beside the rest, the table redrawn with it
    args = ["bench", "--quick", "--compare-only", "--specimens", "12", "--pairs", "6"]
    outcome = CliRunner().invoke(cli, [*args, "--out", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    merged = json.loads((tmp_path / "results.json").read_text())
    assert merged["compare"]["pairs"] == 6
    assert merged["methods"] == written["methods"]
    assert "Comparison (6 genuine phone photos" in (tmp_path / "results.md").read_text()


@pytest.mark.slow
def test_search_scale_fills_the_library_with_other_specimens(tmp_path: Path) -> None:
    from benchmarks.search_scale import run_search_scale

    result = run_search_scale(tmp_path / "work", queries=3, designs=10, others=15, orb_queries=2)
    assert result["library"] == 25
    assert result["descriptors"] > 25 * 50
    assert result["phone"]["queries"] == 3
    assert result["latency_ms"]["p50"] > 0 and "verify" in result["latency_ms"]["stages"]
    orb = result["orb_bruteforce"]
    assert orb["library"] == 25 and orb["queries"] == 2 and orb["latency_ms"]["p50"] > 0
    assert result["orb_over_stamplib_p50"] > 0
    assert not (tmp_path / "work").exists()
