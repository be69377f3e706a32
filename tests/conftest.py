"""Shared fixtures: real SQLite and PostgreSQL catalogues, real local and S3 object stores."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlmodel import Session

from app.auth.users import create_token, create_user
from app.core.models import Role
from app.core.settings import Settings
from app.main import create_app
from tests.servers import SeaweedServer, create_pg_database, drop_pg_database
from vision.imageio import encode_png
from vision.synth.world import SyntheticWorld

TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    url = create_pg_database()
    yield url
    drop_pg_database(url)


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "secret_key": TEST_SECRET,
        "data_dir": tmp_path / "data",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **overrides: _settings(tmp_path, **overrides)


@pytest.fixture
def s3_settings(seaweed: SeaweedServer, request: pytest.FixtureRequest) -> dict[str, object]:
    bucket = "t" + format(abs(hash(request.node.nodeid)) % 10**10, "010d")
    return {
        "storage_url": f"s3://{bucket}",
        "s3_endpoint": seaweed.endpoint,
        "s3_access_key": seaweed.access_key,
        "s3_secret_key": seaweed.secret_key,
    }


@pytest.fixture(
    params=[
        pytest.param("sqlite+local", id="sqlite+local"),
        pytest.param("postgres+s3", id="postgres+s3", marks=[pytest.mark.postgres, pytest.mark.s3]),
    ]
)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Both deployments a user meets: the embedded default and PostgreSQL + S3."""
    if request.param == "sqlite+local":
        return _settings(tmp_path)
    pg = request.getfixturevalue("fresh_pg_url")
    return _settings(tmp_path, database_url=pg, **request.getfixturevalue("s3_settings"))


def user_token(client: TestClient, role: str = "admin", countries: tuple[str, ...] = ()) -> str:
    """A new user of `role` in the client's library, and an API token for them."""
    services = client.app.state.services  # type: ignore[attr-defined]
    with Session(services.engine) as session:
        name = f"{role}-{'-'.join(countries)}-{secrets.token_hex(3)}"
        user, _ = create_user(session, name, Role(role), list(countries))
        _, token = create_token(session, user, "tests")
    return token


def signed_in(client: TestClient, role: str = "admin", countries: tuple[str, ...] = ()) -> None:
    """Every later request of `client` carries a token of a new user of `role`."""
    client.headers["Authorization"] = f"Bearer {user_token(client, role, countries)}"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        signed_in(test_client)
        yield test_client


def stamp_image(
    text: str = "KLIA", colour: tuple[int, int, int] = (30, 60, 160), size: int = 160
) -> np.ndarray:
    """A small, real stamp-like image: a double border, a circle and a word."""
    image = Image.new("RGB", (size, size), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((6, 6, size - 7, size - 7), outline=colour, width=3)
    draw.rectangle((14, 14, size - 15, size - 15), outline=colour, width=1)
    draw.ellipse((40, 30, size - 40, size - 70), outline=colour, width=2)
    draw.text((30, size - 50), text, fill=colour)
    rng = np.random.default_rng(len(text) + sum(colour))
    array = np.asarray(image).astype(np.int16) + rng.integers(-6, 7, (size, size, 3))
    return np.clip(array, 0, 255).astype(np.uint8)


def encode(array: np.ndarray, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.fixture
def stamp_png() -> bytes:
    return encode(stamp_image())


def specimen_upload(world: SyntheticWorld, index: int) -> dict[str, Any]:
    """The form fields and image of one synthetic design, as POST /api/v1/specimens takes
    them (for the test client and for httpx alike)."""
    design = world.designs[index]
    width_mm, height_mm = design.size_mm
    return {
        "data": {
            "width_mm": f"{width_mm:.1f}",
            "height_mm": f"{height_mm:.1f}",
            "country": design.country.code,
            "bcp_name": design.bcp_name,
            "direction": design.direction,
            "mode": design.mode,
            "shape": design.shape,
            "valid_from": design.valid_from.isoformat(),
        },
        "files": {"image": (f"{index}.png", encode_png(world.specimen(index)), "image/png")},
    }
