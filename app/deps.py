"""Dependencies routes ask for, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, UploadFile, status
from sqlmodel import Session

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


def current_actor() -> str:
    # Replaced by the authenticated user's name once access control lands.
    return "anonymous"


SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
ActorDep = Annotated[str, Depends(current_actor)]


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """Read an upload, refusing it as soon as it passes `max_bytes`."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"the file is larger than the limit of {max_bytes / 1e6:.0f} MB",
        )
    return data
