"""The long-lived parts one StampLib process holds: settings, catalogue engine, object store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.core.db import create_catalogue_engine, upgrade_schema
from app.core.settings import Settings
from app.core.storage import ObjectStore, open_store
from vision.imageio import ImageLimits


@dataclass(kw_only=True)
class Services:
    settings: Settings
    engine: Engine
    store: ObjectStore

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(**self.settings.uploads.model_dump())

    def close(self) -> None:
        self.engine.dispose()


def open_services(settings: Settings) -> Services:
    if settings.auto_migrate:
        upgrade_schema(settings.database_url)
    return Services(
        settings=settings,
        engine=create_catalogue_engine(settings.database_url),
        store=open_store(settings),
    )
