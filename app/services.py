"""The long-lived parts one StampLib process holds: settings, catalogue, object store, search."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from app.auth.audit import audit
from app.auth.ratelimit import RateLimit
from app.core.db import create_catalogue_engine, upgrade_schema
from app.core.settings import Settings
from app.core.storage import ObjectStore, open_store
from app.metrics import Metrics
from vision.imageio import ImageLimits
from vision.models import DEFAULT_MODEL, DEFAULT_WEIGHTS

if TYPE_CHECKING:  # the model and its indexes load on first use: commands without them start fast
    from app.search import SearchEngine
    from ingestion.vectors import Indexer
    from vision.embedder import Embedder


@dataclass(kw_only=True)
class Services:
    settings: Settings
    engine: Engine
    store: ObjectStore
    _search_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    login_limit: RateLimit = field(default_factory=lambda: RateLimit(per_minute=20, burst=20))
    search_limit: RateLimit = field(default_factory=lambda: RateLimit(per_minute=120, burst=30))
    metrics: Metrics = field(default_factory=Metrics)

    @property
    def index_dir(self) -> Path:
        return self.settings.data_dir / "index"

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(**self.settings.uploads.model_dump(exclude={"max_bundle_bytes"}))

    @cached_property
    def embedder(self) -> Embedder:
        from vision.embedder import Embedder

        weights = self.settings.model_weights
        if weights is None and self.settings.model == DEFAULT_MODEL:
            weights = DEFAULT_WEIGHTS
        embedder = Embedder(model_name=self.settings.model, weights=weights)
        embedder.load()
        return embedder

    @property
    def search(self) -> SearchEngine:
        """The search engine, built on first use (loads the model, opens or rebuilds the index)."""
        from app.search import SearchEngine
        from index.specimen_index import IndexPlan

        with self._search_lock:
            if "_search" not in self.__dict__:
                self.__dict__["_search"] = SearchEngine(
                    engine=self.engine,
                    embedder=self.embedder,
                    index_dir=self.index_dir,
                    store=self.store,
                    plan=IndexPlan(exact_up_to=self.settings.index_exact_up_to),
                    cache_size=self.settings.features_kept,
                )
            engine: SearchEngine = self.__dict__["_search"]
            return engine

    @cached_property
    def indexer(self) -> Indexer:
        """Vectors for new specimens; needs the model, not the search indexes."""
        from ingestion.vectors import Indexer

        return Indexer(embedder=self.embedder)

    def audit(self, actor: str, action: str, target: str = "", **details: object) -> None:
        audit(self.engine, actor, action, target, **details)

    def indexed(self) -> int | None:
        """Vectors in this process's search index, if search has started."""
        return len(self.__dict__["_search"].index) if "_search" in self.__dict__ else None

    def catalogue_changed(self) -> None:
        """Let this process's search see a change it just made, without waiting to follow."""
        if "_search" in self.__dict__:
            self.__dict__["_search"].live.follow(force=True)

    def close(self) -> None:
        if "_search" in self.__dict__:
            self.__dict__["_search"].save()
        self.engine.dispose()


def open_services(settings: Settings) -> Services:
    if settings.auto_migrate:
        upgrade_schema(settings.database_url)
    return Services(
        settings=settings,
        engine=create_catalogue_engine(settings.database_url),
        store=open_store(settings),
    )
