"""The specimens API on both deployments: SQLite + local folder, PostgreSQL + SeaweedFS S3."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.main import create_app
from tests.conftest import encode, signed_in, stamp_image

FIELDS = {
    "country": "MYS",
    "bcp_name": "KLIA",
    "direction": "entry",
    "mode": "air",
    "shape": "circle",
    "ink_colour": "blue",
    "valid_from": "2020-01-01",
}


def create(client: TestClient, image: bytes, **fields: Any) -> Any:
    data = {**FIELDS, **fields}
    return client.post(
        "/api/v1/specimens", data=data, files={"image": ("scan.png", image, "image/png")}
    )


def test_health_ready_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"catalogue": "ok", "object_store": "ok"}
    assert "/api/v1/specimens" in client.get("/api/v1/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 404  # no page that would load scripts from a CDN


def test_create_then_image_returns_the_same_bytes(client: TestClient, stamp_png: bytes) -> None:
    response = create(client, stamp_png)
    assert response.status_code == 201, response.text
    specimen = response.json()
    assert specimen["country"] == "MYS" and specimen["image_width"] == 160
    image = client.get(f"/api/v1/specimens/{specimen['id']}/image")
    assert image.status_code == 200
    assert image.content == stamp_png
    assert image.headers["content-type"] == "image/png"
    assert client.get(f"/api/v1/specimens/{specimen['id']}").json() == specimen


def test_a_restart_keeps_specimens_and_images(settings: Settings, stamp_png: bytes) -> None:
    with TestClient(create_app(settings)) as first:
        signed_in(first)
        specimen_id = create(first, stamp_png).json()["id"]
    with TestClient(create_app(settings)) as second:
        signed_in(second)
        assert second.get(f"/api/v1/specimens/{specimen_id}/image").content == stamp_png


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"country": "ZZZ"}, "ISO 3166-1 alpha-3"),
        ({"direction": "inbound"}, "entry"),
        ({"mode": "teleport"}, "air"),
        ({"valid_from": "2024-05-01", "valid_to": "2024-01-01"}, "after valid_to"),
        ({"width_mm": "-3"}, "greater than 0"),
        ({"bcp_name": ""}, "bcp_name"),
    ],
)
def test_invalid_fields_are_422_with_a_clear_message(
    client: TestClient, stamp_png: bytes, fields: dict[str, str], fragment: str
) -> None:
    response = create(client, stamp_png, **fields)
    assert response.status_code == 422
    assert fragment in response.text
    assert client.get("/api/v1/specimens").json()["total"] == 0


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"this is a text file, not a picture", "not an image"),
        (encode(stamp_image(), "JPEG")[:900], "truncated"),
        (b"", "empty"),
    ],
)
def test_bad_images_are_refused_and_nothing_is_stored(
    client: TestClient, payload: bytes, fragment: str
) -> None:
    response = create(client, payload)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]
    assert client.get("/api/v1/specimens").json()["total"] == 0


def test_identical_image_twice_is_a_conflict_naming_the_existing_specimen(
    client: TestClient, stamp_png: bytes
) -> None:
    first = create(client, stamp_png).json()
    again = create(client, stamp_png, bcp_name="Other")
    assert again.status_code == 409
    assert again.json()["specimen_id"] == first["id"]


def test_list_filters_and_paginates(client: TestClient) -> None:
    create(client, encode(stamp_image("A")), country="MYS", direction="entry")
    create(client, encode(stamp_image("B")), country="MYS", direction="exit", bcp_name="Penang")
    create(
        client,
        encode(stamp_image("C")),
        country="THA",
        bcp_name="Suvarnabhumi",
        valid_from="2010-01-01",
        valid_to="2012-01-01",
    )
    listing = client.get("/api/v1/specimens", params={"country": "MYS"}).json()
    assert [item["bcp_name"] for item in listing["items"]] == ["KLIA", "Penang"]
    exits = client.get("/api/v1/specimens", params={"direction": "exit"}).json()
    assert [item["bcp_name"] for item in exits["items"]] == ["Penang"]
    valid = client.get("/api/v1/specimens", params={"valid_on": "2011-06-01"}).json()
    assert [item["bcp_name"] for item in valid["items"]] == ["Suvarnabhumi"]
    page = client.get("/api/v1/specimens", params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    assert client.get("/api/v1/specimens", params={"direction": "up"}).status_code == 422


def test_update_withdraw_and_history(client: TestClient, stamp_png: bytes) -> None:
    specimen_id = create(client, stamp_png).json()["id"]
    patched = client.patch(f"/api/v1/specimens/{specimen_id}", json={"notes": "worn corner"})
    assert patched.status_code == 200 and patched.json()["notes"] == "worn corner"
    bad = client.patch(f"/api/v1/specimens/{specimen_id}", json={"valid_to": "2019-01-01"})
    assert bad.status_code == 422 and "after valid_to" in bad.text
    assert (
        client.patch(f"/api/v1/specimens/{specimen_id}", json={"country": "QQQ"}).status_code == 422
    )
    withdrawn = client.delete(f"/api/v1/specimens/{specimen_id}")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert client.get(f"/api/v1/specimens/{specimen_id}/image").content == stamp_png
    actions = [
        event["action"] for event in client.get(f"/api/v1/specimens/{specimen_id}/history").json()
    ]
    assert actions == ["created", "updated", "withdrawn"]


def test_more_images_per_specimen(client: TestClient, stamp_png: bytes) -> None:
    specimen_id = create(client, stamp_png).json()["id"]
    detail = encode(stamp_image("DETAIL", colour=(120, 20, 20)), "JPEG", quality=92)
    added = client.post(
        f"/api/v1/specimens/{specimen_id}/images",
        data={"kind": "uv"},
        files={"image": ("uv.jpg", detail, "image/jpeg")},
    )
    assert added.status_code == 201 and added.json()["position"] == 1
    images = client.get(f"/api/v1/specimens/{specimen_id}/images").json()
    assert [(image["position"], image["kind"]) for image in images] == [(0, "front"), (1, "uv")]
    assert client.get(f"/api/v1/specimens/{specimen_id}/images/1").content == detail
    assert client.get(f"/api/v1/specimens/{specimen_id}").json()["image_count"] == 2


def test_missing_specimen_is_404(client: TestClient) -> None:
    for path in ("/api/v1/specimens/999", "/api/v1/specimens/999/image"):
        response = client.get(path)
        assert response.status_code == 404 and "999" in response.json()["detail"]


def test_an_upload_over_the_byte_limit_is_413(make_settings: Any, stamp_png: bytes) -> None:
    settings = make_settings(uploads={"max_bytes": 1000})
    with TestClient(create_app(settings)) as small:
        signed_in(small)
        response = create(small, stamp_png)
        assert response.status_code == 413 and "limit" in response.json()["detail"]
        assert small.get("/api/v1/specimens").json()["total"] == 0


def test_htmx_is_served_by_the_app_itself(client: TestClient) -> None:
    response = client.get("/static/vendor/htmx.min.js")
    assert response.status_code == 200
    assert "htmx" in response.text[:2000]
