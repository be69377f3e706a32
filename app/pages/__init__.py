"""Server-rendered pages (Jinja2 + htmx) for officers and librarians."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates

from app.comparisons import line_finding
from web import TEMPLATES_DIR

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def _csrf(request: Request) -> str:
    from app.deps import csrf_token  # app.deps imports the services, which need no pages

    return csrf_token(request)


templates.env.globals["csrf_token"] = _csrf
templates.env.filters["line_finding"] = line_finding


def pages_router() -> APIRouter:
    from app.pages import account, librarian, officer

    router = APIRouter(include_in_schema=False)
    router.include_router(account.router)
    router.include_router(officer.router)
    router.include_router(librarian.router)
    return router
