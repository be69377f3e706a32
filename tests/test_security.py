"""Access control, CSRF, lock-out, headers and the audit trail, through the real app."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.main import create_app
from tests.conftest import encode, stamp_image, user_token
from tests.test_cli import run

ROLES = ("anonymous", "officer", "librarian-MYS", "librarian-THA", "admin")


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.csv", "image,country,bcp_name,direction\n")
    return buffer.getvalue()


ZIP = _zip()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("security")
    settings = Settings(environment="test", secret_key="k" * 40, data_dir=data)
    with TestClient(create_app(settings)) as client:
        tokens = {
            "officer": user_token(client, "officer"),
            "librarian-MYS": user_token(client, "librarian", ("MYS",)),
            "librarian-THA": user_token(client, "librarian", ("THA",)),
            "admin": user_token(client, "admin"),
        }
        ids = {}
        for number, country in enumerate(("MYS", "THA")):
            response = client.post(
                "/api/v1/specimens",
                data={"country": country, "bcp_name": f"Post {number}", "direction": "entry"},
                files={"image": ("s.png", encode(stamp_image(f"S{number}")), "image/png")},
                headers={"Authorization": f"Bearer {tokens['admin']}"},
            )
            assert response.status_code == 201, response.text
            ids[country] = response.json()["id"]
        yield client, tokens, ids, data


def call(client: TestClient, token: str | None, method: str, path: str, **kwargs: Any) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client.cookies.clear()
    return client.request(
        method, path, headers=headers, follow_redirects=False, **kwargs
    ).status_code


def png(text: str) -> dict[str, Any]:
    return {"image": ("x.png", encode(stamp_image(text, size=180)), "image/png")}


def matrix(ids: dict[str, int]) -> list[tuple[str, str, Any, set[str]]]:
    """(method, path, request, roles allowed) for every endpoint."""
    everyone = {"officer", "librarian-MYS", "librarian-THA", "admin"}
    mys, tha = ids["MYS"], ids["THA"]
    return [
        ("GET", "/api/v1/specimens", {}, everyone),
        ("GET", f"/api/v1/specimens/{tha}", {}, everyone),
        ("GET", f"/api/v1/specimens/{tha}/history", {}, everyone),
        ("GET", f"/api/v1/specimens/{tha}/image", {}, everyone),
        ("GET", f"/api/v1/specimens/{tha}/thumbnail", {}, everyone),
        ("GET", f"/api/v1/specimens/{tha}/images", {}, everyone),
        ("GET", f"/api/v1/specimens/{tha}/images/0", {}, everyone),
        ("GET", "/api/v1/openapi.json", {}, everyone),
        ("POST", "/api/v1/search", lambda role: {"files": png("Q")}, everyone),
        ("PATCH", f"/api/v1/specimens/{tha}", {"json": {"notes": "x"}}, {"librarian-THA", "admin"}),
        ("PATCH", f"/api/v1/specimens/{mys}", {"json": {"notes": "y"}}, {"librarian-MYS", "admin"}),
        (
            "POST",
            f"/api/v1/specimens/{tha}/images",
            lambda role: {"files": png(f"D{role}"), "data": {"kind": "detail"}},
            {"librarian-THA", "admin"},
        ),
        (
            "POST",
            "/api/v1/specimens",
            lambda role: {
                "data": {"country": "MYS", "bcp_name": "New", "direction": "exit"},
                "files": png(f"N{role}"),
            },
            {"librarian-MYS", "admin"},
        ),
        ("GET", "/api/v1/jobs", {}, {"librarian-MYS", "librarian-THA", "admin"}),
        ("GET", "/api/v1/users", {}, {"admin"}),
        ("GET", "/api/v1/audit", {}, {"admin"}),
        ("GET", "/api/v1/tokens", {}, everyone),
        (
            "POST",
            "/api/v1/compare",
            lambda role: {
                "files": {"image_b": ("b.png", encode(stamp_image("S1")), "image/png")},
                "data": {"specimen_id": tha, "mode": "document", "crop": "0,0,160,160"},
            },
            everyone,
        ),
        (
            "POST",
            "/api/v1/ingest",
            lambda role: {"files": {"bundle": ("b.zip", ZIP, "application/zip")}},
            {"librarian-MYS", "librarian-THA", "admin"},
        ),
        ("GET", "/api/v1/jobs/1", {}, {"librarian-MYS", "librarian-THA", "admin"}),
        (
            "POST",
            "/api/v1/users",
            lambda role: {"json": {"username": f"u{role}", "role": "officer"}},
            {"admin"},
        ),
        ("POST", "/api/v1/tokens", {"json": {"name": "t"}}, everyone),
        ("GET", "/api/v1/audit/export", {}, {"admin"}),
        ("GET", "/", {}, everyone),
        ("GET", "/library", {}, everyone),
        ("GET", f"/specimens/{tha}", {}, everyone),
        ("GET", "/library/new", {}, {"librarian-MYS", "librarian-THA", "admin"}),
        ("GET", f"/specimens/{tha}/edit", {}, {"librarian-THA", "admin"}),
        ("GET", "/library/ingest", {}, {"librarian-MYS", "librarian-THA", "admin"}),
        ("GET", "/admin/audit", {}, {"admin"}),
        ("GET", "/metrics", {}, everyone),
        ("DELETE", f"/api/v1/specimens/{mys}", {}, {"librarian-MYS", "admin"}),
    ]


def test_every_role_against_every_endpoint(world: Any) -> None:
    client, tokens, ids, _ = world
    wrong = []
    for method, path, request, allowed in matrix(ids):
        for role in ROLES:
            kwargs = request(role) if callable(request) else request
            code = call(client, tokens.get(role), method, path, **kwargs)
            expected_ok = role in allowed
            if expected_ok and not 200 <= code < 300:
                wrong.append(f"{role} {method} {path}: {code}, expected 2xx")
            api = path.startswith(("/api/", "/metrics"))
            refused_anonymous = 401 if api else 303  # pages: to sign-in
            if not expected_ok and role == "anonymous" and code != refused_anonymous:
                wrong.append(f"{role} {method} {path}: {code}, expected {refused_anonymous}")
            if not expected_ok and role != "anonymous" and code != 403:
                wrong.append(f"{role} {method} {path}: {code}, expected 403")
    assert not wrong, "\n".join(wrong)


def test_a_revoked_or_wrong_token_is_refused(world: Any) -> None:
    client, tokens, _, _ = world
    assert call(client, "slt_not-a-token", "GET", "/api/v1/specimens") == 401
    headers = {"Authorization": f"Bearer {tokens['officer']}"}
    made = client.post("/api/v1/tokens", json={"name": "scanner"}, headers=headers).json()
    assert call(client, made["token"], "GET", "/api/v1/specimens") == 200
    revoke = client.delete(f"/api/v1/tokens/{made['id']}", headers=headers)
    assert revoke.status_code == 200 and revoke.json()["revoked"] is True
    assert call(client, made["token"], "GET", "/api/v1/specimens") == 401
    assert "token" not in client.get("/api/v1/tokens", headers=headers).json()[0]


def test_pages_send_strangers_to_sign_in_and_carry_security_headers(world: Any) -> None:
    client, _, ids, _ = world
    client.cookies.clear()
    page = client.get(f"/specimens/{ids['THA']}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    login = client.get("/login")
    assert "script-src 'self'" in login.headers["content-security-policy"]
    assert "'unsafe-inline'" not in login.headers["content-security-policy"]
    assert login.headers["x-frame-options"] == "DENY"
    assert login.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in login.text.replace("<script src=", "")  # no inline scripts
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def sign_in(client: TestClient, username: str, password: str) -> Any:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )


def new_user(client: TestClient, role: str, countries: tuple[str, ...] = ()) -> tuple[str, str]:
    from sqlmodel import Session

    from app.auth.users import create_user
    from app.core.models import Role

    services = client.app.state.services  # type: ignore[attr-defined]
    with Session(services.engine) as session:
        user, password = create_user(
            session, f"{role}{len(client.cookies)}{id(countries)}", Role(role), list(countries)
        )
        return user.username, password


def test_a_session_form_without_its_csrf_token_is_refused(world: Any) -> None:
    client, _, ids, _ = world
    name, password = new_user(client, "librarian", ("THA",))
    assert sign_in(client, name, password).status_code == 303
    page = client.get(f"/specimens/{ids['THA']}")
    assert page.status_code == 200 and name in page.text
    forged = client.post(f"/specimens/{ids['THA']}/withdraw", follow_redirects=False)
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    real = client.post(
        f"/specimens/{ids['THA']}/withdraw",
        data={"csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert real.status_code == 303
    assert client.post("/login", data={"username": name, "password": password}).status_code == 403


def test_ten_wrong_passwords_lock_the_account(world: Any) -> None:
    client, _, _, _ = world
    name, password = new_user(client, "officer")
    for _ in range(10):
        assert sign_in(client, name, "wrong password").status_code == 401
    locked = sign_in(client, name, password)
    assert locked.status_code == 401 and "locked" in locked.text


def test_a_tampered_or_deleted_audit_record_is_detected(world: Any) -> None:
    client, tokens, ids, data = world
    client.get(
        f"/api/v1/specimens/{ids['MYS']}", headers={"Authorization": f"Bearer {tokens['admin']}"}
    )
    ok = run(["audit", "verify"], data)
    assert ok.returncode == 0 and "chain intact" in ok.stdout, ok.stderr
    export = client.get(
        "/api/v1/audit/export", headers={"Authorization": f"Bearer {tokens['admin']}"}
    )
    assert export.status_code == 200 and '"action": "specimen.view"' in export.text
    with sqlite3.connect(data / "stamplib.db") as db:
        (row,) = db.execute("SELECT id FROM audit_record WHERE action = 'specimen.view'").fetchone()
        db.execute("UPDATE audit_record SET actor = 'someone else' WHERE id = ?", (row,))
    tampered = run(["audit", "verify"], data)
    assert tampered.returncode == 1 and f"record {row} was changed" in tampered.stderr
    with sqlite3.connect(data / "stamplib.db") as db:
        db.execute("DELETE FROM audit_record WHERE id = ?", (row + 1,))
    deleted = run(["audit", "verify"], data)
    assert deleted.returncode == 1 and "missing (deleted)" in deleted.stderr


def test_audit_page_is_for_admins(world: Any) -> None:
    client, tokens, _, _ = world
    officer = client.get("/admin/audit", headers={"Authorization": f"Bearer {tokens['officer']}"})
    assert officer.status_code == 403
    admin = client.get("/admin/audit", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert admin.status_code == 200 and "Audit trail" in admin.text


def test_user_add_prints_a_password_once(tmp_path: Path) -> None:
    added = run(["user", "add", "ana", "--role", "librarian", "--country", "mys"], tmp_path)
    assert added.returncode == 0 and "password (shown once)" in added.stdout
    again = run(["user", "add", "ana", "--role", "officer"], tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    no_country = run(["user", "add", "bo", "--role", "librarian"], tmp_path)
    assert no_country.returncode == 2 and "needs at least one country" in no_country.stderr
