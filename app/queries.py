"""Officers' query photos: kept so a search can be compared and saved as a check, then
deleted after the retention period (`STAMPLIB_QUERY_RETENTION_DAYS`, default 30).

A query id carries its creation time (8 hex digits of Unix seconds, then 24 random ones),
so expired photos are found from their keys alone, in any object store.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from app.core.storage import ObjectNotFoundError, ObjectStore

NAMESPACE = "queries"
_ID = re.compile(r"^[0-9a-f]{32}$")


class QueryNotFoundError(LookupError):
    pass


def new_query_id(now: float | None = None) -> str:
    return f"{int(now if now is not None else time.time()):08x}{secrets.token_hex(12)}"


def created_at(query_id: str) -> float:
    return float(int(query_id[:8], 16))


def _key(query_id: str, part: str) -> str:
    if not _ID.match(query_id):
        raise QueryNotFoundError(f"no query photo {query_id!r}")
    return f"{NAMESPACE}/{query_id}.{part}"


def keep_query(store: ObjectStore, query_id: str, photo: bytes, result: dict[str, Any]) -> None:
    store.put(_key(query_id, "img"), photo, "application/octet-stream")
    store.put(_key(query_id, "json"), json.dumps(result).encode(), "application/json")


def query_photo(store: ObjectStore, query_id: str) -> bytes:
    try:
        return store.get(_key(query_id, "img"))
    except ObjectNotFoundError as exc:
        raise QueryNotFoundError(
            f"query photo {query_id} is gone (past its retention period, or never kept)"
        ) from exc


def query_result(store: ObjectStore, query_id: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(store.get(_key(query_id, "json")))
    except ObjectNotFoundError as exc:
        raise QueryNotFoundError(f"query {query_id} is gone") from exc
    return data


def purge_expired(store: ObjectStore, retention_days: float, now: float | None = None) -> list[str]:
    """Delete query photos older than the retention period; the ids whose photos went."""
    limit = (now if now is not None else time.time()) - retention_days * 86_400
    gone = set()
    for key in list(store.keys(NAMESPACE + "/")):
        query_id = key.removeprefix(NAMESPACE + "/").split(".", 1)[0]
        if _ID.match(query_id) and created_at(query_id) < limit:
            store.delete(key)
            gone.add(query_id)
    return sorted(gone)
