"""Dependencies routes ask for, as `Annotated` aliases."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, UploadFile, status
from sqlmodel import Session

from app.auth.users import Principal, user_of_token
from app.core.models import Role, UserAccount
from app.core.storage import ObjectStore
from app.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine, expire_on_commit=False) as session:
        yield session


def get_store(services: ServicesDep) -> ObjectStore:
    return services.store


SessionDep = Annotated[Session, Depends(get_session)]
MAX_ID = 2**31 - 1  # catalogue ids are 32-bit in every database StampLib runs on
Identifier = Annotated[int, Path(ge=1, le=MAX_ID, description="a catalogue id")]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
RANK = {Role.OFFICER: 0, Role.LIBRARIAN: 1, Role.ADMIN: 2}


class NotAuthenticatedError(Exception):
    """No valid session or token: the API answers 401, a page sends the browser to sign in."""


def csrf_token(request: Request) -> str:
    """This browser session's CSRF token (made on first use); forms and htmx send it back."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def check_csrf(request: Request) -> None:
    """A state-changing request riding on the session cookie must carry the session's token."""
    expected = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token")  # parsed once, cached on the request
        sent = value if isinstance(value, str) else None
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token; reload the page and retry"
        )


async def current_principal(request: Request, services: ServicesDep) -> Principal:
    """The caller, from a bearer token or the signed session cookie."""
    header = request.headers.get("authorization", "")
    principal: Principal | None = None
    if header.lower().startswith("bearer "):
        with Session(services.engine) as session:
            user = user_of_token(session, header[7:].strip())
            if user is None:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED,
                    "invalid or revoked API token",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            principal = Principal.of(user, via_token=True)
    elif (user_id := request.session.get("user_id")) is not None:
        with Session(services.engine) as session:
            user = session.get(UserAccount, int(user_id))
            if user is not None and user.active:
                principal = Principal.of(user)
    if principal is None:
        raise NotAuthenticatedError
    if request.method in UNSAFE and not principal.via_token:
        await check_csrf(request)
    request.state.principal = principal
    return principal


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if RANK[principal.role] < RANK[role]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role.value} role")
        return principal

    return dependency


OfficerDep = Annotated[Principal, Depends(require(Role.OFFICER))]
LibrarianDep = Annotated[Principal, Depends(require(Role.LIBRARIAN))]
AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]


def check_country(principal: Principal, *countries: str) -> None:
    """Librarians curate only the specimens of their countries."""
    for country in countries:
        if not principal.may_curate(country):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"{principal.username} may not change specimens of {country.upper()}",
            )


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """Read an upload, refusing it as soon as it passes `max_bytes`."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"the file is larger than the limit of {max_bytes / 1e6:.0f} MB",
        )
    return data
