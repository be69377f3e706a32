"""HTTP hardening: security headers on every response, sessions, and auth errors."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.ratelimit import RateLimitedError
from app.core.settings import Environment, Settings
from app.deps import NotAuthenticatedError

SESSION_COOKIE = "stamplib_session"
SESSION_HOURS = 8  # one shift
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


class SecurityHeaders:
    """Adds the headers to every response, errors included (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", CSP.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.headers
            await send(message)

        await self.app(scope, receive, with_headers)


async def _not_authenticated(request: Request, _exc: Exception) -> Response:
    if request.url.path.startswith("/api/") or request.url.path == "/metrics":
        return JSONResponse(
            {"detail": "sign in or send an API token (Authorization: Bearer …)"},
            status_code=status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)


async def _rate_limited(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimitedError)
    return JSONResponse(
        {"detail": str(exc)},
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(int(exc.retry_after_s) + 1)},
    )


def install_security(app: FastAPI, settings: Settings) -> None:
    production = settings.environment is Environment.PRODUCTION
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        same_site="strict",
        https_only=production,
    )
    app.add_middleware(SecurityHeaders, hsts=production)
    app.add_exception_handler(NotAuthenticatedError, _not_authenticated)
    app.add_exception_handler(RateLimitedError, _rate_limited)
