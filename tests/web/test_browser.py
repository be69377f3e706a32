"""The web UI in a real browser: Debian's Chromium driven by Playwright (never downloaded).

An officer checks a phone photo and opens the comparison; a librarian adds a specimen and
a bulk ZIP and watches the job reach 100%. Screenshots go to tests/artifacts/ (ignored).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import specimen_upload
from tests.servers import free_port
from vision.imageio import encode_jpeg, encode_png
from vision.synth.world import SyntheticWorld

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
STAMPLIB = str(Path(sys.executable).parent / "stamplib")
WORLD = SyntheticWorld(seed=17, specimens=10)


PASSWORDS: dict[str, str] = {}
HEADERS: dict[str, str] = {}


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [STAMPLIB, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _users(env: dict[str, str]) -> None:
    """An officer, a librarian of the Philippines and Indonesia, and an admin for the API."""
    for name, role, countries in (
        ("officer", "officer", []),
        ("librarian", "librarian", ["PHL", "IDN"]),
        ("operator", "admin", []),
    ):
        options = [item for country in countries for item in ("--country", country)]
        printed = _cli(env, "user", "add", name, "--role", role, *options)
        PASSWORDS[name] = printed.rsplit(": ", 1)[1]
    HEADERS["Authorization"] = f"Bearer {_cli(env, 'user', 'token', 'operator')}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    data = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = {**os.environ, "STAMPLIB_DATA_DIR": str(data), "STAMPLIB_ENVIRONMENT": "development"}
    _users(env)
    log = (data / "server.log").open("w")
    process = subprocess.Popen(
        [STAMPLIB, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url)
        ids = [_add(url, index) for index in range(len(WORLD.designs))]
        httpx.post(
            url + "/search", files={"image": ("w.jpg", _photo(0), "image/jpeg")}, timeout=120
        )
        yield url, ids
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def _add(url: str, index: int) -> int:
    response = httpx.post(
        url + "/api/v1/specimens", **specimen_upload(WORLD, index), headers=HEADERS, timeout=120
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _photo(index: int) -> bytes:
    return encode_jpeg(WORLD.query_of(index, "phone", 300 + index).photo.rgb)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), "Debian chromium is missing: run `make setup`"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def _sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url + "/")
    expect(page.locator("h1")).to_have_text("Sign in")  # sent here: not signed in yet
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".who")).to_contain_text(name)


def _officer_search(page: Page, url: str, photo: Path) -> float:
    page.goto(url + "/")
    page.set_input_files("#photo", str(photo))
    expect(page.locator("#crop-canvas")).to_be_visible()
    started = time.perf_counter()
    page.get_by_role("button", name="Check").click()
    expect(page.locator(".banner")).to_be_visible(timeout=30_000)
    return (time.perf_counter() - started) * 1000


def _the_answer_is_outlined_on_the_photo(page: Page, index: int) -> None:
    """The verified first result's outline is drawn in green on the photo's preview."""
    expect(page.locator(".result .verified").first).to_be_visible()
    outline = page.locator("#found-outline")
    expect(outline).to_be_attached()
    points = [
        [float(v) for v in point.split(",")]
        for point in (outline.get_attribute("data-outline") or "").split(";")
    ]
    assert len(points) == 4
    width = WORLD.query_of(index, "phone", 300 + index).photo.rgb.shape[1]
    (x0, y0), (x1, y1) = points[0], points[1]
    red, green, blue = page.evaluate(
        """([x, y, width]) => {
            const canvas = document.getElementById("crop-canvas");
            const scale = canvas.width / width;
            return Array.from(canvas.getContext("2d")
                .getImageData(Math.round(x * scale), Math.round(y * scale), 1, 1).data.slice(0, 3));
        }""",
        [(x0 + x1) / 2, (y0 + y1) / 2, width],
    )
    assert green > 120 and red < 80 and blue < 120  # the outline's green, mid-edge


def test_an_officer_checks_a_phone_photo_and_opens_the_comparison(
    server: tuple[str, list[int]], browser: Browser, tmp_path: Path
) -> None:
    url, ids = server
    ARTIFACTS.mkdir(exist_ok=True)
    index = next(
        i
        for i in range(len(WORLD.designs))
        if httpx.post(
            url + "/api/v1/search",
            files={"image": ("q.jpg", _photo(i), "image/jpeg")},
            headers=HEADERS,
            timeout=60,
        ).json()["matches"][0]["specimen_id"]
        == ids[i]
    )  # a photo the search gets right: this test is about the page, not the accuracy
    photo = tmp_path / "phone.jpg"
    photo.write_bytes(_photo(index))
    timings = {}
    for name, size in {"phone": (390, 844), "desktop": (1280, 800)}.items():
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        page = context.new_page()
        _sign_in(page, url, "officer")
        timings[name] = _officer_search(page, url, photo)
        first = page.locator(".result").first
        expect(first).to_have_attribute("data-specimen-id", str(ids[index]))
        assert page.locator(".banner").get_attribute("data-decision") in {
            "match",
            "uncertain",
            "no_match",
        }
        _the_answer_is_outlined_on_the_photo(page, index)
        page.screenshot(path=str(ARTIFACTS / f"search-{size[0]}x{size[1]}.png"), full_page=True)
        if name == "desktop":
            first.get_by_role("link", name="Compare").click()
            expect(page.locator("h1")).to_contain_text(f"specimen {ids[index]}")
            verdict = page.locator("[data-verdict]")
            expect(verdict).to_be_visible()
            page.locator("#opacity").fill("80")
            assert page.locator("#overlay-top").evaluate("e => e.style.opacity") == "0.8"
            page.get_by_label("Show where they differ (heat map)").check()
            expect(page.locator("#heatmap-layer")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "compare-1280x800.png"), full_page=True)
        context.close()
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(timings, indent=2))


def _bundle(count: int) -> bytes:
    buffer = io.BytesIO()
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["image", "country", "bcp_name", "direction", "mode"])
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(count):
            rgb = WORLD.specimen(number)[:, ::-1].copy()  # other designs: mirrored renders
            archive.writestr(f"img/{number}.png", encode_png(rgb))
            writer.writerow([f"img/{number}.png", "PHL", f"Bulk Port {number}", "exit", "sea"])
        archive.writestr("manifest.csv", rows.getvalue())
    return buffer.getvalue()


def test_a_librarian_adds_a_specimen_and_a_bulk_zip(
    server: tuple[str, list[int]], browser: Browser, tmp_path: Path
) -> None:
    url, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(page, url, "librarian")
    page.goto(url + "/library/new")
    page.get_by_label("Country (ISO alpha-3)").fill("IDN")
    page.get_by_label("Border crossing point").fill("Soekarno-Hatta Terminal 3")
    page.get_by_label("Direction").select_option("exit")
    page.get_by_label("Mode").select_option("air")
    scan = tmp_path / "scan.png"
    scan.write_bytes(encode_png(WORLD.specimen(3)[::-1].copy()))
    page.get_by_label("Scan of the genuine impression").set_input_files(str(scan))
    page.get_by_role("button", name="Add to the library").click()
    expect(page.locator("h1")).to_contain_text("Soekarno-Hatta Terminal 3")
    expect(page.locator(".history")).to_contain_text("created")
    bundle = tmp_path / "bulk.zip"
    bundle.write_bytes(_bundle(6))
    page.goto(url + "/library/ingest")
    page.get_by_label("ZIP of manifest.csv and its images").set_input_files(str(bundle))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".job[data-status=done]")).to_be_visible(timeout=60_000)
    expect(page.locator(".job .percent")).to_have_text("100%")
    expect(page.locator(".job")).to_contain_text("6 added")
    page.screenshot(path=str(ARTIFACTS / "bulk-1280x800.png"), full_page=True)
    page.get_by_role("link", name="See the library").click()
    page.get_by_role("link", name="Philippines").click()
    for number in range(6):
        expect(page.locator("table.specimens")).to_contain_text(f"Bulk Port {number}")
    context.close()
