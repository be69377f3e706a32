"""Builds the StampLib web application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.api import admin, checks, compare, health, ingest, search, specimens
from app.checks import apply_retention
from app.core.settings import Settings, get_settings
from app.core.storage import StorageError
from app.deps import OfficerDep
from app.errors import install_error_handlers
from app.pages import pages_router
from app.security import install_security
from app.services import Services, open_services
from web import STATIC_DIR

log = logging.getLogger(__name__)


async def _apply_retention_daily(services: Services) -> None:
    """Officers' photos are deleted once past their retention period: at start, then daily."""
    while True:
        try:
            with Session(services.engine) as session:
                await run_in_threadpool(
                    apply_retention,
                    session,
                    services.store,
                    services.settings.query_retention_days,
                )
        except (StorageError, SQLAlchemyError) as exc:
            log.warning("query photo retention did not run: %s", exc)
        await asyncio.sleep(86_400)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services = open_services(settings)
        retention = asyncio.create_task(_apply_retention_daily(services))
        try:
            yield
        finally:
            retention.cancel()
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
    api.include_router(checks.router)

    @api.get("/openapi.json", include_in_schema=False)
    def openapi_schema(principal: OfficerDep) -> JSONResponse:
        return JSONResponse(app.openapi())

    app.include_router(api)
    app.include_router(health.router)
    app.include_router(pages_router())
    app.include_router(admin.pages)
    app.include_router(checks.pages)
    if STATIC_DIR.is_dir():  # htmx and our CSS, installed by `make setup`, served by the app itself
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    install_security(app, settings)
    return app
