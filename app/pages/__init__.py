"""Server-rendered pages (Jinja2 + htmx) for officers and librarians."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.templating import Jinja2Templates

from web import TEMPLATES_DIR

templates = Jinja2Templates(directory=TEMPLATES_DIR)


def pages_router() -> APIRouter:
    from app.pages import librarian, officer

    router = APIRouter(include_in_schema=False)
    router.include_router(officer.router)
    router.include_router(librarian.router)
    return router
