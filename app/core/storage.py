"""Object storage for images: a local folder or an S3 server, behind one protocol.

Keys are derived from content (sha256), never from user input, so an object can be
written twice without harm and a key can never escape its store.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError

from app.core.settings import Settings

log = logging.getLogger(__name__)
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9._-]*)+$")
AUTH_ERROR_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken"}
)


class StorageError(Exception):
    """The object store failed; the message says what to check."""


class StorageAuthError(StorageError):
    pass


class StorageUnavailableError(StorageError):
    pass


class ObjectNotFoundError(StorageError):
    pass


class ObjectStore(Protocol):
    description: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> Iterator[str]: ...
    def check(self) -> None: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_key(namespace: str, digest: str, extension: str) -> str:
    """The key of an object from its namespace, digest and type: `images/ab/ab12….png`."""
    key = f"{namespace}/{digest[:2]}/{digest}{extension}"
    return check_key(key)


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key) or ".." in key:
        raise ValueError(f"invalid object key {key!r}")
    return key


class LocalFolderStore:
    """Objects as files below one folder; writes are atomic (temporary file + rename)."""

    def __init__(self, *, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.description = f"local folder {self.root}"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(f"object {key} is missing from {self.description}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StorageUnavailableError(f"{self.description} is not writable")


class S3Store:
    """Objects in one bucket of an S3 server (MinIO, SeaweedFS, AWS …) via the minio client."""

    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        secure: bool = False,
        region: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if not endpoint:
            raise StorageError("STAMPLIB_S3_ENDPOINT must be set for an s3:// storage URL")
        self.bucket = bucket
        self.description = f"S3 bucket {bucket!r} at {endpoint}"
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s * 3),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[502, 503, 504]),
            maxsize=16,
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region or None,
            http_client=http,
        )

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except S3Error as exc:
            if exc.code in AUTH_ERROR_CODES:
                raise StorageAuthError(
                    f"{self.description} refused the credentials while trying to {action}: "
                    f"{exc.code}. Check STAMPLIB_S3_ACCESS_KEY and STAMPLIB_S3_SECRET_KEY."
                ) from exc
            if exc.code in {"NoSuchKey", "NoSuchObject"}:
                raise ObjectNotFoundError(
                    f"{action}: object missing in {self.description}"
                ) from exc
            raise StorageError(
                f"{self.description} failed to {action}: {exc.code} {exc.message}"
            ) from exc
        except (urllib3.exceptions.HTTPError, OSError, ServerError, InvalidResponseError) as exc:
            raise StorageUnavailableError(
                f"{self.description} is unreachable or failing while trying to {action}: "
                f"{type(exc).__name__}. Check STAMPLIB_S3_ENDPOINT and that the server runs."
            ) from exc

    def ensure_bucket(self) -> None:
        with self._errors("create the bucket"):
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
                log.info("created bucket %s", self.bucket)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        with self._errors(f"store {key}"):
            self.client.put_object(
                self.bucket, check_key(key), io.BytesIO(data), len(data), content_type=content_type
            )

    def get(self, key: str) -> bytes:
        with self._errors(f"read {key}"):
            response = self.client.get_object(self.bucket, check_key(key))
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            with self._errors(f"look up {key}"):
                self.client.stat_object(self.bucket, check_key(key))
        except ObjectNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        with self._errors(f"delete {key}"):
            self.client.remove_object(self.bucket, check_key(key))

    def keys(self, prefix: str = "") -> Iterator[str]:
        with self._errors("list objects"):
            for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                if item.object_name:
                    yield item.object_name

    def check(self) -> None:
        with self._errors("check the bucket"):
            if not self.client.bucket_exists(self.bucket):
                raise StorageUnavailableError(f"{self.description} does not exist")


def open_store(settings: Settings) -> ObjectStore:
    """The object store named by STAMPLIB_STORAGE_URL (`file:///path` or `s3://bucket`)."""
    url = urlparse(settings.storage_url)
    if url.scheme == "file":
        return LocalFolderStore(root=Path(url.netloc + url.path))
    if url.scheme == "s3":
        store = S3Store(
            endpoint=settings.s3_endpoint,
            bucket=url.netloc,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        store.ensure_bucket()
        return store
    raise StorageError(
        f"unsupported STAMPLIB_STORAGE_URL {settings.storage_url!r}: use file:// or s3://"
    )
