"""Domain errors become HTTP errors here, and only here."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from app.core.catalogue import SpecimenNotFoundError
from app.core.storage import ObjectNotFoundError, StorageError
from ingestion.specimens import DuplicateImageError
from vision.errors import BadImageError

log = logging.getLogger(__name__)


def _json(status_code: int, detail: object) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


async def _bad_image(_request: Request, exc: Exception) -> JSONResponse:
    return _json(status.HTTP_422_UNPROCESSABLE_CONTENT, f"image: {exc}")


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return _json(status.HTTP_404_NOT_FOUND, str(exc))


async def _duplicate(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DuplicateImageError)
    return JSONResponse(
        {"detail": str(exc), "specimen_id": exc.specimen_id}, status_code=status.HTTP_409_CONFLICT
    )


async def _missing_object(_request: Request, exc: Exception) -> JSONResponse:
    log.error("catalogue refers to a missing object: %s", exc)
    return _json(status.HTTP_404_NOT_FOUND, "the image object is missing from storage")


async def _storage(_request: Request, exc: Exception) -> JSONResponse:
    log.error("object store failure: %s", exc)
    return _json(
        status.HTTP_503_SERVICE_UNAVAILABLE, "image storage is unavailable; nothing was stored"
    )


async def _invalid_value(_request: Request, exc: Exception) -> JSONResponse:
    return _json(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BadImageError, _bad_image)
    app.add_exception_handler(SpecimenNotFoundError, _not_found)
    app.add_exception_handler(DuplicateImageError, _duplicate)
    app.add_exception_handler(ObjectNotFoundError, _missing_object)
    app.add_exception_handler(StorageError, _storage)
    app.add_exception_handler(ValueError, _invalid_value)
