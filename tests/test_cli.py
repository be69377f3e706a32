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


def test_commands_without_the_model_do_not_load_torch(tmp_path: Path) -> None:
    """User and audit commands start in about a second: the model stack (torch, open_clip)
    is imported only by commands that search, ingest or compare."""
    check = (
        "import sys; from app.cli import cli; from typer.testing import CliRunner; "
        "out = CliRunner().invoke(cli, ['user', 'add', 'ana', '--role', 'officer']); "
        "assert out.exit_code == 0, out.output; "
        "print(sorted(m for m in ('torch', 'open_clip', 'faiss') if m in sys.modules))"
    )
    env = {**os.environ, "STAMPLIB_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
