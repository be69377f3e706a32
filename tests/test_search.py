"""Visual search end to end through the API and the CLI, on a tiny synthetic library."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.catalogue import note_change
from app.core.models import SpecimenVectors
from app.core.settings import Settings
from app.main import create_app
from app.search import TWIN_MARGIN, WORDS_ALIKE, Match, SearchFilters, settle_twins
from tests.conftest import signed_in, specimen_upload
from tests.test_cli import run
from vision.features import StampFeatures, stamp_features
from vision.imageio import encode_jpeg, encode_png
from vision.localise import find_stamps, primary_crop
from vision.synth.world import Query, SyntheticWorld
from vision.verify import Verification, align

WORLD = SyntheticWorld(seed=5, specimens=8)


def ingest_world(client: TestClient) -> list[int]:
    ids = []
    for index in range(len(WORLD.designs)):
        response = client.post("/api/v1/specimens", **specimen_upload(WORLD, index))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


@contextmanager
def world_library(data: Path) -> Iterator[tuple[TestClient, list[int]]]:
    """A client signed in as an admin, on a library of WORLD's specimens."""
    settings = Settings(environment="test", secret_key="s" * 40, data_dir=data)
    with TestClient(create_app(settings)) as client:
        signed_in(client)
        yield client, ingest_world(client)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("search")
    with world_library(data) as (client, ids):
        yield client, ids, data


def stamp_box(query: Query) -> tuple[int, int, int, int]:
    """x, y, w, h of the box around a query photo's stamp, within the photo."""
    x0, y0 = query.photo.stamp_quad.min(axis=0).clip(0).astype(int)
    x1, y1 = query.photo.stamp_quad.max(axis=0).astype(int)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def crop_field(box: tuple[int, int, int, int]) -> str:
    return ",".join(map(str, box))


def half_a_stamp() -> tuple[Query, str]:
    """A rescan of design 3, and the crop field of its stamp's left half only."""
    query = WORLD.query_of(3, "scan", 11)
    x, y, w, h = stamp_box(query)
    return query, crop_field((x, y, w // 2, h))


def search(client: TestClient, photo: bytes, **fields: str) -> Any:
    return client.post(
        "/api/v1/search", data=fields, files={"image": ("q.jpg", photo, "image/jpeg")}
    )


def test_a_scan_of_each_stamp_finds_its_specimen_first(library: Any) -> None:
    client, ids, _ = library
    for index in (0, 3, 6):
        query = WORLD.query_of(index, "scan", 100 + index)
        response = search(client, encode_jpeg(query.photo.rgb))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["matches"][0]["specimen_id"] == ids[index]
        first = body["matches"][0]
        assert {
            "specimen_id",
            "score",
            "verified",
            "inliers",
            "country",
            "bcp_name",
            "direction",
            "mode",
            "valid_from",
            "valid_to",
            "status",
            "thumbnail_url",
        } <= set(first)
        assert body["decision"] in {"match", "uncertain"}
        assert {"decode", "embed", "verify", "total"} <= set(body["timings_ms"])
        assert client.get(first["thumbnail_url"]).status_code == 200
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'stamplib_searches_total{decision="' in metrics.text
    assert "stamplib_search_seconds_bucket" in metrics.text
    assert f"stamplib_index_vectors {float(len(ids))}" in metrics.text


def test_filters_and_crop(library: Any) -> None:
    client, ids, _ = library
    query = WORLD.query_of(2, "scan", 7)
    other_country = next(
        d.country.code for d in WORLD.designs if d.country != WORLD.designs[2].country
    )
    filtered = search(client, encode_jpeg(query.photo.rgb), country=other_country).json()
    assert ids[2] not in [m["specimen_id"] for m in filtered["matches"]]
    assert all(m["country"] == other_country for m in filtered["matches"])
    box = stamp_box(query)
    cropped = search(client, encode_jpeg(query.photo.rgb), crop=crop_field(box)).json()
    assert cropped["crop"] == list(box)
    assert cropped["matches"][0]["specimen_id"] == ids[2]
    bad = search(client, encode_jpeg(query.photo.rgb), crop="1,2,3")
    assert bad.status_code == 422 and "x,y,w,h" in bad.json()["detail"]


def test_the_answer_outlines_the_stamp_it_is_about(library: Any) -> None:
    """Two library stamps side by side in one searched box: the answer is about one of them,
    and its outline lies on that one, not around the box."""
    client, ids, _ = library
    left, right = WORLD.specimen(1), WORLD.specimen(4)
    height = max(left.shape[0], right.shape[0]) + 80
    page = np.full((height, left.shape[1] + right.shape[1] + 120, 3), 250, dtype=np.uint8)
    placed = {
        ids[1]: (40, 40, left.shape[1], left.shape[0]),
        ids[4]: (80 + left.shape[1], 40, right.shape[1], right.shape[0]),
    }
    for image, (x, y, w, h) in ((left, placed[ids[1]]), (right, placed[ids[4]])):
        page[y : y + h, x : x + w] = image
    body = search(client, encode_png(page), crop=f"0,0,{page.shape[1]},{page.shape[0]}").json()
    first = body["matches"][0]
    assert first["specimen_id"] in placed and first["verified"]
    outline = np.array(body["outline"])
    assert outline.shape == (4, 2)
    (x0, y0), (x1, y1) = outline.min(axis=0), outline.max(axis=0)
    x, y, w, h = placed[first["specimen_id"]]
    overlap = max(0, min(x1, x + w) - max(x0, x)) * max(0, min(y1, y + h) - max(y0, y))
    union = (x1 - x0) * (y1 - y0) + w * h - overlap
    assert overlap / union > 0.6
    # the box holds the other stamp too: the officer is told to crop to the one checked
    assert "other_ink" in body["caveats"] and body["decision"] != "match"


def test_a_photo_showing_part_of_a_stamp_is_no_match_and_says_so(library: Any) -> None:
    """Cut through the middle, a scan still finds its design first, but the answer is not a
    match: the half not shown may hold the very name that tells it from another stamp."""
    client, ids, _ = library
    query, left_half = half_a_stamp()
    whole = search(client, encode_jpeg(query.photo.rgb), crop=crop_field(stamp_box(query)))
    half = search(client, encode_jpeg(query.photo.rgb), crop=left_half)
    assert whole.json()["matches"][0]["specimen_id"] == ids[3]
    assert "part_shown" not in whole.json()["caveats"]
    body = half.json()
    assert body["matches"][0]["specimen_id"] == ids[3] and body["matches"][0]["verified"]
    assert body["caveats"] == ["part_shown"] and body["decision"] != "match"


def stamp_in_pieces() -> tuple[tuple[int, int, int, int], np.ndarray]:
    """A scan of design 3 with a band of its stamp left uninked, which splits it into two
    blobs on the photo: the stamp's box and the photo."""
    query = WORLD.query_of(3, "scan", 11)
    x, y, w, h = stamp_box(query)
    photo = query.photo.rgb.copy()
    band = x + int(0.62 * w)
    photo[y - 5 : y + h + 5, band : band + int(0.07 * w)] = np.median(
        photo[y : y + h, x : x + w].reshape(-1, 3), axis=0
    )
    first_found = find_stamps(photo)[0].box
    assert first_found[0] + first_found[2] < x + 0.8 * w  # the localiser's box cuts it
    return (x, y, w, h), photo


def test_a_stamp_found_in_pieces_is_searched_whole(library: Any) -> None:
    """The larger piece is searched first, its specimen verified reaches beyond that box,
    and the search is made again on a box holding the whole impression, which is no longer
    'part shown'."""
    client, ids, _ = library
    (x, y, w, h), photo = stamp_in_pieces()
    body = search(client, encode_png(photo)).json()
    cx, cy, cw, ch = body["crop"]
    assert cx <= x + 0.02 * w and cx + cw >= x + 0.98 * w
    assert cy <= y + 0.02 * h and cy + ch >= y + 0.98 * h
    assert body["matches"][0]["specimen_id"] == ids[3]
    assert "part_shown" not in body["caveats"]
    assert all(other[0] < x or other[0] >= x + w for other in body["other_stamps"])


def test_a_grown_box_answering_about_another_stamp_leaves_the_first_answer(
    library: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the grown box's first result be another specimen (it took in a stamp beside
    the one searched), the piece's answer stands: part shown, never a match."""
    client, ids, _ = library
    engine = client.app.state.services.search
    searched = engine._search_box
    boxes = []

    def another_first(rgb: np.ndarray, box: tuple[int, int, int, int], *args: Any) -> Any:
        outcome = searched(rgb, box, *args)
        boxes.append(box)
        if len(boxes) == 2:  # the grown box, as if it had taken in another stamp
            outcome.matches = outcome.matches[1:]
        return outcome

    monkeypatch.setattr(engine, "_search_box", another_first)
    _, photo = stamp_in_pieces()
    outcome = engine.search_rgb(photo, SearchFilters())
    assert len(boxes) == 2 and outcome.box == boxes[0]
    assert outcome.matches[0].specimen_id == ids[3]
    assert "part_shown" in outcome.caveats and outcome.decision != "match"


def test_a_non_image_is_refused(library: Any) -> None:
    client, _, _ = library
    response = search(client, b"GIF? no, just text")
    assert response.status_code == 422 and "not an image" in response.json()["detail"]


def test_cli_search_prints_json(library: Any, tmp_path: Path) -> None:
    _, ids, data = library
    photo = tmp_path / "q.jpg"
    photo.write_bytes(encode_jpeg(WORLD.query_of(4, "scan", 3).photo.rgb))
    result = run(["search", str(photo), "--json", "--top-k", "3"], data)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["matches"][0]["specimen_id"] == ids[4]
    assert len(body["matches"]) == 3


def test_cli_search_refuses_a_missing_file(tmp_path: Path) -> None:
    result: subprocess.CompletedProcess[str] = run(["search", str(tmp_path / "none.jpg")], tmp_path)
    assert result.returncode == 2


def test_index_rebuild_restores_the_same_results(library: Any, tmp_path: Path) -> None:
    client, _, data = library
    photo = encode_jpeg(WORLD.query_of(1, "scan", 9).photo.rgb)
    before = search(client, photo).json()["matches"]
    (data / "index" / "stamplib-stamp.faiss").write_bytes(b"corrupt")
    result = run(["index", "rebuild"], data)
    assert result.returncode == 0, result.stderr
    assert f"{len(WORLD.designs)} specimens" in result.stdout
    path = tmp_path / "q.jpg"
    path.write_bytes(photo)
    after = json.loads(run(["search", str(path), "--json"], data).stdout)["matches"]
    assert [m["specimen_id"] for m in after] == [m["specimen_id"] for m in before]


def test_index_rebuild_recompute_replaces_stale_vectors(library: Any) -> None:
    _, ids, data = library
    with sqlite3.connect(data / "stamplib.db") as db:
        (good,) = db.execute(
            "SELECT features FROM specimen_vectors WHERE specimen_id = ?", (ids[2],)
        ).fetchone()
        # stale vectors: specimen 2 described as if it were specimen 3
        db.execute(
            "UPDATE specimen_vectors SET features = "
            "(SELECT features FROM specimen_vectors WHERE specimen_id = ?) WHERE specimen_id = ?",
            (ids[3], ids[2]),
        )
    result = run(["index", "rebuild", "--recompute"], data)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(data / "stamplib.db") as db:
        (now,) = db.execute(
            "SELECT features FROM specimen_vectors WHERE specimen_id = ?", (ids[2],)
        ).fetchone()
    recomputed, original = StampFeatures.from_bytes(now), StampFeatures.from_bytes(good)
    assert np.array_equal(recomputed.points, original.points)
    assert np.array_equal(recomputed.descriptors, original.descriptors)


def test_search_verifies_with_a_specimens_new_features_once_they_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server keeps specimens' local features between searches; when their vectors change
    (`index rebuild --recompute` in another process, a replica's repair), it must verify with
    the new ones, which its descriptor index has taken in (and decoded: the search keeps
    them from there, without reading them again), not the kept old ones."""
    with world_library(tmp_path) as (client, ids):
        engine = client.app.state.services.search  # type: ignore[attr-defined]
        photo = encode_jpeg(WORLD.query_of(2, "scan", 31).photo.rgb)
        assert search(client, photo).json()["matches"][0]["specimen_id"] == ids[2]
        old = engine._specimen_features([ids[2]])[ids[2]]
        with Session(engine.engine) as session:
            row = session.get(SpecimenVectors, ids[2])
            other = session.get(SpecimenVectors, ids[3])
            assert row is not None and other is not None
            new = other.features
            row.features = new  # specimen 2 now described as specimen 3 is
            session.add(row)
            note_change(session, ids[2])
            session.commit()
        time.sleep(engine.live.follow_every_s + 0.1)

        def unread(*_: object) -> None:
            raise AssertionError("local features read from the catalogue during a search")

        monkeypatch.setattr("app.search.features_of", unread)
        assert search(client, photo).status_code == 200  # the search follows the change
        kept = engine._specimen_features([ids[2]])[ids[2]]
        assert not np.array_equal(kept.points, old.points)
        assert np.array_equal(kept.points, StampFeatures.from_bytes(new).points)


def test_a_server_opened_on_a_library_verifies_without_reading_features_again(
    library: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening the index decodes every specimen's local features for its descriptors; the
    search keeps them, so the first searches after a start (or a rebuild) verify without
    reading them from the catalogue once more."""
    _, ids, data = library

    def unread(*_: object) -> None:
        raise AssertionError("local features read from the catalogue during a search")

    monkeypatch.setattr("app.search.features_of", unread)
    photo = encode_jpeg(WORLD.query_of(4, "scan", 12).photo.rgb)
    settings = Settings(environment="test", secret_key="s" * 40, data_dir=data)
    with TestClient(create_app(settings)) as client:
        signed_in(client)
        assert search(client, photo).json()["matches"][0]["specimen_id"] == ids[4]
        client.app.state.services.search.live.rebuild_from_catalogue()  # type: ignore[attr-defined]
        assert search(client, photo).json()["matches"][0]["specimen_id"] == ids[4]


def test_searches_take_the_words_and_outline_stored_at_ingestion(
    library: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A specimen's words and outline are derived once, at ingestion: a search that ranks it
    first, in a server that has never seen it, derives none."""
    _, ids, data = library

    def underived(*_: object) -> None:
        raise AssertionError("a specimen's shape derived during a search")

    monkeypatch.setattr("vision.twins.words", underived)  # what deriving a shape reads
    settings = Settings(environment="test", secret_key="s" * 40, data_dir=data)
    with TestClient(create_app(settings)) as client:
        signed_in(client)
        for index, query in ((4, 12), (2, 31)):
            photo = encode_jpeg(WORLD.query_of(index, "scan", query).photo.rgb)
            found = search(client, photo).json()
            assert found["matches"][0]["specimen_id"] == ids[index]
            assert found["decision"] == "match" and not found["caveats"], found


def test_a_server_keeps_no_more_specimens_features_than_configured(library: Any) -> None:
    _, ids, data = library
    settings = Settings(environment="test", secret_key="s" * 40, data_dir=data, features_kept=3)
    with TestClient(create_app(settings)) as client:
        signed_in(client)
        engine = client.app.state.services.search  # type: ignore[attr-defined]
        assert len(engine._features) == 3
        photo = encode_jpeg(WORLD.query_of(4, "scan", 12).photo.rgb)
        assert search(client, photo).json()["matches"][0]["specimen_id"] == ids[4]
        assert len(engine._features) == 3


def test_compare_a_photo_with_its_specimen_through_the_api(library: Any) -> None:
    client, ids, _ = library
    photo = encode_jpeg(WORLD.query_of(3, "scan", 21).photo.rgb)
    response = client.post(
        "/api/v1/compare",
        data={"specimen_id": str(ids[3])},
        files={"image_b": ("photo.jpg", photo, "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verdict"] in {"consistent", "differences found"}
    assert body["measurements"]["inliers"] >= 12
    assert any(region["name"].startswith("line") for region in body["regions"])
    for name in ("reference", "aligned", "overlay", "heatmap"):
        picture = client.get(body[f"{name}_url"])
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert client.get("/api/v1/compare/0123/overlay.jpg").status_code == 404
    assert client.get(f"/api/v1/compare/{body['comparison_id']}/secret.jpg").status_code == 404
    neither = client.post("/api/v1/compare", files={"image_b": ("photo.jpg", photo, "image/jpeg")})
    assert neither.status_code == 422 and "image_a or specimen_id" in neither.json()["detail"]
    blank = encode_png(np.full((200, 200, 3), 240, np.uint8))
    refused = client.post(
        "/api/v1/compare",
        files={
            "image_a": ("a.png", encode_png(WORLD.specimen(0)), "image/png"),
            "image_b": ("b.png", blank, "image/png"),
        },
    )
    assert refused.status_code == 422 and "cannot align" in refused.json()["detail"]


def test_cli_compare_writes_the_pictures(library: Any, tmp_path: Path) -> None:
    _, _, data = library
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    first.write_bytes(encode_png(WORLD.specimen(5)))
    second.write_bytes(encode_jpeg(WORLD.specimen(5)))
    result = run(
        ["compare", str(first), str(second), "--json", "--out", str(tmp_path / "out")],
        data,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "consistent"
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "overlay.png",
        "heatmap.png",
        "aligned_b.png",
    }


def two_stamps_photo() -> np.ndarray:
    """Two specimens side by side on one white page, well apart."""
    left, right = WORLD.specimen(1), WORLD.specimen(5)
    height = max(left.shape[0], right.shape[0]) + 80
    page = np.full((height, left.shape[1] + right.shape[1] + 200, 3), 250, np.uint8)
    page[40 : 40 + left.shape[0], 40 : 40 + left.shape[1]] = left
    x = left.shape[1] + 160
    page[40 : 40 + right.shape[0], x : x + right.shape[1]] = right
    return page


def test_a_page_with_two_stamps_gives_a_result_set_per_stamp(library: Any, tmp_path: Path) -> None:
    client, ids, data = library
    photo = encode_jpeg(two_stamps_photo())
    body = search(client, photo, each_stamp="true").json()
    assert len(body["other_stamps"]) == 1
    assert [s["crop"] for s in body["stamps"]] == body["other_stamps"]
    firsts = {body["matches"][0]["specimen_id"], body["stamps"][0]["matches"][0]["specimen_id"]}
    assert firsts == {ids[1], ids[5]}
    (record,) = client.get("/api/v1/audit", params={"action": "search", "limit": 1}).json()
    assert record["details"]["stamps"][0]["crop"] == body["other_stamps"][0]
    assert (
        record["details"]["stamps"][0]["first"][0] == body["stamps"][0]["matches"][0]["specimen_id"]
    )
    plain = search(client, photo).json()
    assert plain["stamps"] is None and plain["other_stamps"] == body["other_stamps"]
    # the other impression's box, sent as the crop, searches that impression alone
    x, y, w, h = body["other_stamps"][0]
    again = search(client, photo, crop=f"{x},{y},{w},{h}").json()
    assert again["matches"][0]["specimen_id"] == body["stamps"][0]["matches"][0]["specimen_id"]

    path = tmp_path / "two.jpg"
    path.write_bytes(photo)
    result = run(["search", str(path), "--json", "--each-stamp"], data)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert {
        printed["matches"][0]["specimen_id"],
        printed["stamps"][0]["matches"][0]["specimen_id"],
    } == firsts
    assert printed["timings_ms"]["total"] >= printed["timings_ms"]["verify"] > 0


def test_a_first_result_unlike_the_photo_in_a_word_gives_way_to_one_like_it_in_all() -> None:
    """The near-twin round meets only results of close score. The exit stamp of the BCP
    whose entry stamp was photographed, ranked far above it, looks unlike the photo in its
    direction word: the entry stamp, which the photo looks like in every word, takes first
    place, and the evidence says how the photo sides with it against the other."""
    world = SyntheticWorld(seed=3, specimens=40)
    photographed, other = 6, 7  # near-twins (see tests/vision/test_twins.py)
    assert world.designs[photographed].bcp_code == world.designs[other].bcp_code
    cropped, _ = primary_crop(world.query_of(photographed, "scan", 7).photo.rgb)
    query = stamp_features(cropped)
    features, checks = {}, {}
    for design in (photographed, other):
        features[design] = stamp_features(world.specimen(design))
        homography, inliers = align(query, features[design])
        assert homography is not None
        checks[design] = Verification(True, inliers, 0.5, homography)
    far_above = [  # beyond the near-twin round's margin
        Match(other, 30.0, 0.9, 1.0, True, checks[other].inliers, 0.5),
        Match(photographed, 30.0 - 2 * TWIN_MARGIN, 0.9, 1.0, True, 40, 0.5),
    ]
    ranked, evidence = settle_twins(query.ink, far_above, features, checks)
    assert [m.specimen_id for m in ranked] == [photographed, other]
    assert evidence.word >= WORDS_ALIKE and evidence.margin > 0, evidence
    # the photographed design first already: it stays, its words alike
    ranked, evidence = settle_twins(query.ink, far_above[::-1], features, checks)
    assert [m.specimen_id for m in ranked] == [photographed, other]
    assert evidence.word >= WORDS_ALIKE
