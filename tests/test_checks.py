"""Checks for the case file: saved from a search and a comparison, exported as a PDF that
poppler can read, and stripped of the photo after the retention period."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlmodel import Session

from app.checks import apply_retention
from app.queries import purge_expired
from tests.conftest import user_token
from tests.test_search import WORLD, half_a_stamp, world_library
from vision.imageio import encode_jpeg


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with world_library(tmp_path_factory.mktemp("checks")) as library:
        yield library


def pdf_text_and_images(pdf: bytes, folder: Path) -> tuple[str, list[np.ndarray]]:
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run(["pdfimages", "-png", str(path), str(folder / "img")], check=True)
    images = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("img-*.png"))]
    pages = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert any(f"Pages:{' ' * n}{k}" in pages.stdout for n in range(1, 12) for k in (1, 2, 3))
    return text, images


def test_a_search_and_its_comparison_become_a_pdf_report(office: Any, tmp_path: Path) -> None:
    client, ids = office
    photo = encode_jpeg(WORLD.query_of(2, "scan", 61).photo.rgb)
    found = client.post("/api/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")}).json()
    assert found["query_id"]
    first = found["matches"][0]  # the report is about whatever search ranked first
    compared = client.post(
        "/api/v1/compare",
        data={"specimen_id": str(ids[2])},
        files={"image_b": ("q.jpg", photo, "image/jpeg")},
    ).json()
    saved = client.post(
        "/api/v1/checks",
        json={
            "query_id": found["query_id"],
            "comparison_id": compared["comparison_id"],
            "specimen_id": ids[2],
            "note": "Passport X1234567 <seal smudged> & secondary inspection",
        },
    )
    assert saved.status_code == 201, saved.text
    report = client.get(saved.json()["report_url"])
    assert report.status_code == 200 and report.headers["content-type"] == "application/pdf"
    text, images = pdf_text_and_images(report.content, tmp_path)
    assert first["country"] in text and first["bcp_name"] in " ".join(text.split())
    assert "Decision:" in text and "Comparison with specimen" in text
    assert "Passport X1234567 <seal smudged> & secondary inspection" in " ".join(text.split())
    if compared["measurements"]["dates"]:
        assert "Date as read" in text
    if lines := compared["measurements"]["lines_read"]:
        assert "Text as read" in text and lines[0]["specimen"] in " ".join(text.split())
    if scale := compared["measurements"]["text_scale"]:
        assert f"line length {scale[0]}, letter height {scale[1]}" in " ".join(text.split())
    # a photo has no scale: the officer is told the genuine stamp's size to measure against
    specimen = client.get(f"/api/v1/specimens/{ids[2]}").json()
    assert specimen["width_mm"] and specimen["height_mm"]
    size = f"measures {specimen['width_mm']:g} × {specimen['height_mm']:g} mm"
    assert size in " ".join(text.split())
    assert len(images) >= 4  # photo, specimen, overlay, heat map
    assert all(image.std() > 5 for image in images), "an embedded image is blank"
    # the photo shows in green where the first result was found
    assert found["outline"] and "(green: where the" in text

    def green(rgb: np.ndarray) -> int:
        r, g, b = (rgb[..., k].astype(int) for k in range(3))
        return int(((g > r + 60) & (g > b + 30)).sum())

    assert green(images[0]) > green(WORLD.query_of(2, "scan", 61).photo.rgb) + 300


def test_checks_are_private_and_photos_expire(office: Any, tmp_path: Path) -> None:
    client, _ = office
    photo = encode_jpeg(WORLD.query_of(4, "scan", 62).photo.rgb)
    query_id = client.post(
        "/api/v1/search", files={"image": ("q.jpg", photo, "image/jpeg")}
    ).json()["query_id"]
    check = client.post("/api/v1/checks", json={"query_id": query_id}).json()
    other = {"Authorization": f"Bearer {user_token(client, 'officer')}"}
    assert client.get(f"/api/v1/checks/{check['id']}", headers=other).status_code == 404
    services = client.app.state.services  # type: ignore[attr-defined]
    assert purge_expired(services.store, 30) == []  # nothing is old yet
    with Session(services.engine) as session:
        removed = apply_retention(session, services.store, retention_days=-1)  # all expired
    assert removed >= 1
    after = client.get(f"/api/v1/checks/{check['id']}").json()
    assert after["query_kept"] is False and after["matches"]
    text, _ = pdf_text_and_images(client.get(after["report_url"]).content, tmp_path)
    assert "retention period" in text
    gone = client.post("/api/v1/checks", json={"query_id": query_id})
    assert gone.status_code == 404 and "gone" in gone.json()["detail"]


def test_a_check_keeps_what_the_officer_was_told_to_act_on(office: Any, tmp_path: Path) -> None:
    """Searched on half the stamp: the check and its report say to photograph it whole."""
    client, _ = office
    query, left_half = half_a_stamp()
    found = client.post(
        "/api/v1/search",
        data={"crop": left_half},
        files={"image": ("q.jpg", encode_jpeg(query.photo.rgb), "image/jpeg")},
    ).json()
    assert "part_shown" in found["caveats"]
    saved = client.post("/api/v1/checks", json={"query_id": found["query_id"]}).json()
    assert saved["caveats"] == found["caveats"]
    text, _ = pdf_text_and_images(client.get(saved["report_url"]).content, tmp_path)
    assert "photograph or crop the whole stamp" in " ".join(text.split())
