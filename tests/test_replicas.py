"""Two API processes sharing PostgreSQL and SeaweedFS see each other's changes within seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from tests.conftest import specimen_upload
from tests.servers import SeaweedServer, free_port
from vision.imageio import encode_jpeg
from vision.synth.world import SyntheticWorld

STAMPLIB = str(Path(sys.executable).parent / "stamplib")
WORLD = SyntheticWorld(seed=11, specimens=4)
pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.slow]


def admin_token(env: dict[str, str], data: Path) -> str:
    """A user and API token made with the CLI, as an operator would."""
    full = {**env, "STAMPLIB_DATA_DIR": str(data)}
    added = subprocess.run(
        [STAMPLIB, "user", "add", "operator", "--role", "admin"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    token = subprocess.run(
        [STAMPLIB, "user", "token", "operator"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert token.returncode == 0, token.stderr
    return token.stdout.strip()


class Replica:
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, env: dict[str, str], data: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data.mkdir(parents=True, exist_ok=True)
        self.log = (data / "server.log").open("w")
        self.process = subprocess.Popen(
            [STAMPLIB, "serve", "--port", str(self.port)],
            env={**env, "STAMPLIB_DATA_DIR": str(data)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"replica on {self.url} did not start")

    def search(self, photo: bytes) -> list[int]:
        response = httpx.post(
            self.url + "/api/v1/search",
            files={"image": ("q.jpg", photo, "image/jpeg")},
            headers=self.headers,
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return [match["specimen_id"] for match in response.json()["matches"]]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def replicas(
    tmp_path: Path, fresh_pg_url: str, seaweed: SeaweedServer
) -> Iterator[tuple[Replica, Replica]]:
    env = {
        **os.environ,
        "STAMPLIB_ENVIRONMENT": "test",
        "STAMPLIB_SECRET_KEY": "r" * 40,
        "STAMPLIB_DATABASE_URL": fresh_pg_url,
        "STAMPLIB_STORAGE_URL": "s3://replicas",
        "STAMPLIB_S3_ENDPOINT": seaweed.endpoint,
        "STAMPLIB_S3_ACCESS_KEY": seaweed.access_key,
        "STAMPLIB_S3_SECRET_KEY": seaweed.secret_key,
    }
    Replica.headers = {"Authorization": f"Bearer {admin_token(env, tmp_path / 'cli')}"}
    first = Replica(env, tmp_path / "a")
    second = Replica(env, tmp_path / "b")
    try:
        first.wait_ready()
        second.wait_ready()
        yield first, second
    finally:
        first.stop()
        second.stop()


def add_specimen(replica: Replica, index: int) -> int:
    response = httpx.post(
        replica.url + "/api/v1/specimens",
        **specimen_upload(WORLD, index),
        headers=replica.headers,
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def first_seen_within(replica: Replica, photo: bytes, wanted: int, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if replica.search(photo)[:1] == [wanted]:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"specimen {wanted} not found first within {seconds} s")


def test_a_specimen_added_through_one_replica_is_found_through_the_other(
    replicas: tuple[Replica, Replica],
) -> None:
    first, second = replicas
    existing = add_specimen(first, 0)
    photo = encode_jpeg(WORLD.query_of(1, "scan", 3).photo.rgb)
    assert second.search(photo) == [existing]  # the second replica has its index loaded
    added = add_specimen(first, 1)
    waited = first_seen_within(second, photo, added, seconds=5)
    assert waited < 5
    response = httpx.delete(
        f"{second.url}/api/v1/specimens/{added}", headers=second.headers, timeout=30
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 5
    while added in first.search(photo):
        assert time.monotonic() < deadline, "withdrawal not followed within 5 s"
        time.sleep(0.2)
