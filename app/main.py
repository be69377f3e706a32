"""Builds the StampLib web application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from app.api import admin, compare, health, ingest, search, specimens
from app.core.settings import Settings, get_settings
from app.deps import OfficerDep
from app.errors import install_error_handlers
from app.pages import pages_router
from app.security import install_security
from app.services import open_services
from web import STATIC_DIR


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = open_services(settings)
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(
        title="StampLib",
        summary="E-library of genuine border stamp specimens with visual search",
        version="0.1.0",
        lifespan=lifespan,
        # the schema is served to signed-in callers only, and no documentation page pulls
        # scripts from a CDN
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    api = APIRouter(prefix="/api/v1")
    api.include_router(specimens.router)
    api.include_router(search.router)
    api.include_router(ingest.router)
    api.include_router(compare.router)
    api.include_router(admin.router)

    @api.get("/openapi.json", include_in_schema=False)
    def openapi_schema(principal: OfficerDep) -> JSONResponse:
        return JSONResponse(app.openapi())

    app.include_router(api)
    app.include_router(health.router)
    app.include_router(pages_router())
    app.include_router(admin.pages)
    if STATIC_DIR.is_dir():  # htmx and our CSS, installed by `make setup`, served by the app itself
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    install_security(app, settings)
    return app
