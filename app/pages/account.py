"""Signing in and out: a signed, HttpOnly, SameSite=Strict session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.auth.ratelimit import RateLimitedError
from app.auth.users import LoginError, authenticate
from app.deps import OfficerDep, ServicesDep, check_csrf, csrf_token
from app.pages import templates

router = APIRouter()


def _page(request: Request, message: str = "", code: int = 200) -> Response:
    csrf_token(request)
    return templates.TemplateResponse(
        request, "pages/login.html", {"nav": "login", "message": message}, status_code=code
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return _page(request)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    await check_csrf(request)
    client = request.client.host if request.client else "unknown"
    try:
        services.login_limit.take(f"{client}:{username}")
        with Session(services.engine) as session:
            user = authenticate(session, username, password)
            user_id, name = user.id, user.username
    except (LoginError, RateLimitedError) as exc:
        services.audit(username, "login.failed", client=client, reason=str(exc))
        code = 429 if isinstance(exc, RateLimitedError) else status.HTTP_401_UNAUTHORIZED
        return _page(request, str(exc), code)
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["user_id"] = user_id
    csrf_token(request)
    services.audit(name, "login", client=client)
    return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/logout")
async def logout(request: Request, services: ServicesDep, principal: OfficerDep) -> Response:
    services.audit(principal.username, "logout")
    request.session.clear()
    return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
