"""Pages and htmx partials through the test client: which template, with what context."""

from __future__ import annotations

import html
import io
import time
import zipfile
from typing import Any

import pytest

from tests.test_search import WORLD, half_a_stamp, two_stamps_photo, world_library
from vision.imageio import encode_jpeg, encode_png


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with world_library(tmp_path_factory.mktemp("pages")) as library:
        yield library


def test_the_search_page_offers_the_camera_and_the_filters(site: Any) -> None:
    client, _ = site
    response = client.get("/")
    assert response.status_code == 200
    assert response.template.name == "pages/search.html"  # type: ignore[attr-defined]
    countries = response.context["countries"]  # type: ignore[attr-defined]
    assert {code for code, _ in countries} == {d.country.code for d in WORLD.designs}
    assert 'capture="environment"' in response.text and 'accept="image/*"' in response.text
    assert "/static/vendor/htmx.min.js" in response.text
    assert client.get("/static/vendor/htmx.min.js").status_code == 200


def test_search_results_partial_ranks_the_specimen_first_and_links_the_comparison(
    site: Any,
) -> None:
    client, ids = site
    photo = encode_jpeg(WORLD.query_of(6, "scan", 40).photo.rgb)
    response = client.post("/search", files={"image": ("q.jpg", photo, "image/jpeg")})
    assert response.status_code == 200, response.text
    assert response.template.name == "partials/results.html"  # type: ignore[attr-defined]
    context = response.context  # type: ignore[attr-defined]
    assert context["matches"][0].specimen_id == ids[6]
    assert context["outcome"].decision in {"match", "uncertain", "no_match"}
    link = f"/compare/{context['query_id']}/{ids[6]}"
    assert link in response.text
    page = client.get(link)
    assert page.status_code == 200
    assert page.template.name == "pages/compare.html"  # type: ignore[attr-defined]
    result = page.context["result"]  # type: ignore[attr-defined]
    assert result["verdict"] in {"consistent", "differences found"}
    assert client.get(result["overlay_url"]).status_code == 200
    specimen = page.context["specimen"]  # type: ignore[attr-defined]
    assert specimen.width_mm and specimen.height_mm
    size = f"The genuine stamp measures {specimen.width_mm:g} × {specimen.height_mm:g} mm"
    assert size in page.text
    # each text line as the specimen and the scan read it
    lines = result["measurements"]["lines_read"]
    assert lines and "Text as read" in page.text
    assert all(f"<td>{html.escape(line['specimen'])}</td>" in page.text for line in lines)


def test_results_offer_the_other_impressions_on_the_photo(site: Any) -> None:
    client, ids = site
    photo = encode_jpeg(two_stamps_photo())
    response = client.post("/search", files={"image": ("q.jpg", photo, "image/jpeg")})
    assert response.status_code == 200, response.text
    (other,) = response.context["outcome"].other_stamps  # type: ignore[attr-defined]
    assert f'data-crop="{",".join(map(str, other))}"' in response.text
    assert "Check impression 2" in response.text
    cropped = client.post(
        "/search",
        data={"crop": ",".join(map(str, other))},
        files={"image": ("q.jpg", photo, "image/jpeg")},
    )
    first = cropped.context["matches"][0].specimen_id  # type: ignore[attr-defined]
    assert first in {ids[1], ids[5]}
    assert first != response.context["matches"][0].specimen_id  # type: ignore[attr-defined]
    # a cropped search offers the way back to the whole photo (an empty crop)
    assert "Search the whole photo" in cropped.text and 'data-crop=""' in cropped.text
    assert "Search the whole photo" not in response.text


def test_library_browse_filter_and_specimen_page(site: Any) -> None:
    client, ids = site
    country = WORLD.designs[0].country.code
    page = client.get(f"/library?country={country}")
    assert page.template.name == "pages/library.html"  # type: ignore[attr-defined]
    context = page.context  # type: ignore[attr-defined]
    assert all(s.country == country for s in context["specimens"])
    assert context["bcps"]
    table = client.get(f"/library/table?country={country}&q={WORLD.designs[0].bcp_name[:5]}")
    assert table.template.name == "partials/specimen_table.html"  # type: ignore[attr-defined]
    assert table.context["total"] >= 1  # type: ignore[attr-defined]
    specimen = client.get(f"/specimens/{ids[0]}")
    assert specimen.template.name == "pages/specimen.html"  # type: ignore[attr-defined]
    assert specimen.context["history"][0].action == "created"  # type: ignore[attr-defined]


def test_create_edit_withdraw_and_escaping(site: Any) -> None:
    client, _ = site
    form = {
        "country": "MYS",
        "bcp_name": "Bukit Kayu Hitam",
        "direction": "entry",
        "mode": "land",
        "shape": "rectangle",
        "notes": "<script>alert(1)</script>",
    }
    image = encode_png(WORLD.specimen(7)[:, ::-1].copy())
    created = client.post(
        "/library/new",
        data=form,
        files={"image": ("s.png", image, "image/png")},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    page = client.get(location)
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    bad = client.post(
        "/library/new",
        data={**form, "country": "XXA"},
        files={"image": ("t.png", encode_png(WORLD.specimen(7)[::-1].copy()), "image/png")},
    )
    assert bad.status_code == 422 and "country" in bad.text
    specimen_id = int(location.rsplit("/", 1)[1])
    edited = client.post(
        f"/specimens/{specimen_id}/edit",
        data={**form, "bcp_name": "Bukit Kayu Hitam ICQS"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    withdrawn = client.post(f"/specimens/{specimen_id}/withdraw", follow_redirects=False)
    assert withdrawn.status_code == 303
    history = client.get(f"/specimens/{specimen_id}").context["history"]  # type: ignore[attr-defined]
    assert [event.action for event in history] == ["created", "updated", "withdrawn"]


def test_bulk_upload_partial_polls_until_done(site: Any) -> None:
    client, _ = site
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "manifest.csv", "image,country,bcp_name,direction\na.png,THA,Sadao,entry\n"
        )
        archive.writestr("a.png", encode_png(WORLD.specimen(2)[::-1, ::-1].copy()))
    response = client.post(
        "/library/ingest", files={"bundle": ("b.zip", buffer.getvalue(), "application/zip")}
    )
    assert response.template.name == "partials/job.html"  # type: ignore[attr-defined]
    job_id = response.context["job"].id  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while (job := client.get(f"/library/jobs/{job_id}").context["job"]).status != "done":  # type: ignore[attr-defined]
        assert time.monotonic() < deadline and job.status != "failed"
        time.sleep(0.2)
    assert job.added == 1


def test_login_page_plugs_in(site: Any) -> None:
    client, _ = site
    page = client.get("/login")
    assert page.template.name == "pages/login.html"  # type: ignore[attr-defined]
    assert 'autocomplete="current-password"' in page.text


def test_results_say_when_the_box_shows_only_part_of_the_stamp(site: Any) -> None:
    """The officer is told what to do: photograph or crop the whole stamp."""
    client, ids = site
    query, left_half = half_a_stamp()
    response = client.post(
        "/search",
        data={"crop": left_half},
        files={"image": ("q.jpg", encode_jpeg(query.photo.rgb), "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    assert response.context["matches"][0].specimen_id == ids[3]  # type: ignore[attr-defined]
    assert 'data-caveat="part_shown"' in response.text
    assert "photograph or crop the whole stamp" in response.text
