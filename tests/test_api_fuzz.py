"""Schemathesis against the OpenAPI schema, signed in as an admin: no request, however odd,
makes the API fail with a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from app.core.settings import Settings
from app.main import create_app
from tests.conftest import encode, stamp_image, user_token

pytestmark = pytest.mark.slow
TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    app: FastAPI = create_app(
        Settings(environment="test", secret_key="f" * 40, data_dir=tmp_path_factory.mktemp("fuzz"))
    )
    with TestClient(app) as client:
        TOKEN["header"] = f"Bearer {user_token(client, 'admin')}"
        client.post(
            "/api/v1/specimens",
            data={"country": "THA", "bcp_name": "Fuzz", "direction": "entry"},
            files={"image": ("s.png", encode(stamp_image("FZ")), "image/png")},
            headers={"Authorization": TOKEN["header"]},
        )
        yield schemathesis.openapi.from_asgi(
            "/api/v1/openapi.json", app, headers={"Authorization": TOKEN["header"]}
        )


def test_no_request_makes_the_api_fail(api: Any) -> None:
    """Every operation of the schema, with generated requests (schemathesis strategies run by
    hypothesis directly: its pytest plugin does not support this pytest yet)."""
    failures: list[str] = []
    calls: list[int] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            try:
                response = case.call(headers={"Authorization": TOKEN["header"]})
            except Exception as exc:  # the app raised: the test client re-raises server errors
                failures.append(f"{exc!r}: {case.as_curl_command()}")
                return
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{response.status_code}: {case.as_curl_command()}")

        check()
    assert not failures, "\n".join(failures[:10])
    assert len(calls) >= 5 * len(operations) and any(200 <= code < 300 for code in calls)
