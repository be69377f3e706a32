"""Liveness and readiness probes for load balancers and orchestrators, and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import ping
from app.core.storage import StorageError
from app.deps import OfficerDep, ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        ping(services.engine)
        checks["catalogue"] = "ok"
    except SQLAlchemyError as exc:
        checks["catalogue"] = f"unavailable: {type(exc).__name__}"
    try:
        services.store.check()
        checks["object_store"] = "ok"
    except StorageError as exc:
        checks["object_store"] = f"unavailable: {exc}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
def metrics(services: ServicesDep, principal: OfficerDep) -> Response:
    """Prometheus text format; the scraper signs in with an API token like any client."""
    return Response(services.metrics.render(services.indexed()), media_type=CONTENT_TYPE_LATEST)
