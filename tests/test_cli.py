"""The `stamplib` command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.ingestion.test_bulk import write_bundle

STAMPLIB = str(Path(sys.executable).parent / "stamplib")


def run(args: list[str], data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STAMPLIB_DATA_DIR": str(data), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([STAMPLIB, *args], env=env, capture_output=True, text=True, timeout=120)


def test_ingest_then_list(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "bundle")
    first = run(["ingest", str(bundle)], tmp_path / "data")
    assert first.returncode == 1  # some rows were bad
    assert "4 added" in first.stdout
    assert "row 9 (img/fine.png)" in first.stderr
    listing = run(["specimens", "list", "--country", "THA", "--json"], tmp_path / "data")
    assert listing.returncode == 0, listing.stderr
    assert sorted(item["bcp_name"] for item in json.loads(listing.stdout)) == [
        f"Checkpoint {i}" for i in range(4)
    ]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run(["ingest", str(tmp_path / "nope")], tmp_path / "data")
    assert result.returncode == 2
    assert "does not exist" in result.stderr
