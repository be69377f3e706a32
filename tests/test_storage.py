"""Object stores: the local folder and a real SeaweedFS S3 server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.settings import Settings
from app.core.storage import (
    LocalFolderStore,
    ObjectNotFoundError,
    ObjectStore,
    S3Store,
    StorageAuthError,
    StorageError,
    StorageUnavailableError,
    content_key,
    open_store,
    sha256_hex,
)
from tests.servers import SeaweedServer, free_port


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, make_settings: Callable[..., Settings]
) -> ObjectStore:
    if request.param == "local":
        return LocalFolderStore(root=tmp_path / "objects")
    return open_store(make_settings(**request.getfixturevalue("s3_settings")))


def test_round_trip_list_and_delete(store: ObjectStore) -> None:
    data = b"\x89PNG fake but bytes are bytes"
    key = content_key("images", sha256_hex(data), ".png")
    assert not store.exists(key)
    store.put(key, data, "image/png")
    store.put(key, data, "image/png")  # content keys make a second write harmless
    assert store.exists(key)
    assert store.get(key) == data
    assert list(store.keys("images/")) == [key]
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(ObjectNotFoundError):
        store.get(key)
    store.check()


@pytest.mark.parametrize("key", ["../etc/passwd", "images/../../x", "/abs/path", "Images/A", "x"])
def test_keys_that_could_escape_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        store.put(key, b"x", "text/plain")


def test_content_key_comes_from_the_digest() -> None:
    digest = sha256_hex(b"abc")
    assert content_key("images", digest, ".jpg") == f"images/{digest[:2]}/{digest}.jpg"


@pytest.mark.s3
def test_missing_bucket_is_created(
    make_settings: Callable[..., Settings], seaweed: SeaweedServer
) -> None:
    bucket = f"fresh{int(time.time() * 1000)}"
    store = open_store(
        make_settings(
            storage_url=f"s3://{bucket}",
            s3_endpoint=seaweed.endpoint,
            s3_access_key=seaweed.access_key,
            s3_secret_key=seaweed.secret_key,
        )
    )
    assert isinstance(store, S3Store)
    assert store.client.bucket_exists(bucket)


@pytest.mark.s3
def test_wrong_credentials_give_a_clear_error_and_store_nothing(seaweed: SeaweedServer) -> None:
    good = S3Store(
        endpoint=seaweed.endpoint,
        bucket="creds",
        access_key=seaweed.access_key,
        secret_key=seaweed.secret_key,
    )
    good.ensure_bucket()
    bad = S3Store(
        endpoint=seaweed.endpoint,
        bucket="creds",
        access_key=seaweed.access_key,
        secret_key="not-the-secret-key-at-all",
    )
    key = content_key("images", sha256_hex(b"secret"), ".png")
    with pytest.raises(StorageAuthError, match="refused the credentials"):
        bad.put(key, b"secret", "image/png")
    with pytest.raises(StorageAuthError, match="STAMPLIB_S3_SECRET_KEY"):
        bad.ensure_bucket()
    assert not good.exists(key)
    assert list(good.keys()) == []


@pytest.mark.s3
def test_unreachable_endpoint_gives_a_clear_error() -> None:
    store = S3Store(
        endpoint=f"127.0.0.1:{free_port()}",
        bucket="nowhere",
        access_key="a",
        secret_key="b",
        timeout_s=1.0,
    )
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError, match="unreachable"):
        store.ensure_bucket()
    assert time.monotonic() - started < 15


def test_unknown_storage_scheme_is_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(StorageError, match="file:// or s3://"):
        open_store(make_settings(storage_url="ftp://somewhere"))
