"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import ping
from app.core.storage import StorageError
from app.deps import ServicesDep

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
