"""Bulk ingestion from a manifest folder or ZIP: good rows stored, bad rows reported by number."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from sqlmodel import Session

from app.core.db import create_catalogue_engine, upgrade_schema
from app.core.storage import LocalFolderStore
from ingestion.bulk import ingest_manifest
from ingestion.manifest import ManifestError
from tests.conftest import encode, stamp_image
from tests.test_imageio import png_bomb

HEADER = ["image", "country", "bcp_name", "direction", "mode", "valid_from"]


def write_bundle(folder: Path) -> Path:
    (folder / "img").mkdir(parents=True)
    rows = []
    for index in range(4):
        name = f"img/good{index}.png"
        (folder / name).write_bytes(encode(stamp_image(f"BCP{index}")))
        rows.append([name, "THA", f"Checkpoint {index}", "entry", "land", "2020-01-01"])
    (folder / "img/text.png").write_text("not an image at all")
    (folder / "img/cut.jpg").write_bytes(encode(stamp_image("CUT"), "JPEG")[:700])
    (folder / "img/bomb.png").write_bytes(png_bomb(30_000, 30_000))
    (folder / "img/fine.png").write_bytes(encode(stamp_image("XX")))
    rows += [
        ["img/text.png", "THA", "A", "entry", "air", ""],
        ["img/cut.jpg", "THA", "B", "exit", "air", ""],
        ["img/bomb.png", "THA", "C", "exit", "air", ""],
        ["img/fine.png", "ATL", "D", "exit", "air", ""],
        ["../outside.png", "THA", "E", "exit", "air", ""],
    ]
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return folder


@pytest.fixture
def library(tmp_path: Path) -> tuple[Session, LocalFolderStore]:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade_schema(url)
    return Session(create_catalogue_engine(url)), LocalFolderStore(root=tmp_path / "objects")


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in folder.rglob("*"):
            archive.write(path, f"bundle/{path.relative_to(folder)}")
    return target


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "zip"])
def test_good_rows_stored_bad_rows_reported_and_second_run_adds_nothing(
    tmp_path: Path, library: tuple[Session, LocalFolderStore], packed: bool
) -> None:
    session, store = library
    source = write_bundle(tmp_path / "bundle")
    if packed:
        source = _zip(source, tmp_path / "bundle.zip")
    report = ingest_manifest(session, store, source, actor="librarian")
    assert len(report.added) == 4
    reasons = {error.row: error.reason for error in report.errors}
    assert sorted(reasons) == [6, 7, 8, 9, 10]
    assert "not an image" in reasons[6]
    assert "truncated" in reasons[7]
    assert "megapixels" in reasons[8]
    assert "ISO 3166-1" in reasons[9]
    assert "inside the bundle" in reasons[10]
    objects = sorted(store.keys())
    assert len([key for key in objects if key.startswith("images/")]) == 4  # the originals
    derived = [key for key in objects if key.startswith("derived/")]
    assert derived and all(key.endswith((".png", ".jpg")) for key in derived)
    again = ingest_manifest(session, store, source, actor="librarian")
    assert again.added == []
    assert sorted(again.unchanged) == sorted(report.added)
    assert sorted(store.keys()) == objects


def test_missing_required_column_is_a_manifest_error(
    tmp_path: Path, library: tuple[Session, LocalFolderStore]
) -> None:
    (tmp_path / "manifest.csv").write_text("image,country\nx.png,THA\n")
    with pytest.raises(ManifestError, match="bcp_name, direction"):
        ingest_manifest(library[0], library[1], tmp_path / "manifest.csv", actor="x")
