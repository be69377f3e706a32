"""Visual search: photo in, ranked genuine specimens and a decision out."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, or_, select

from app.core.models import Direction, Mode, Specimen, SpecimenVectors, Status
from index import IndexMismatchError, SpecimenIndex
from ingestion.vectors import Indexer, stored_embeddings
from vision.embedder import Embedder
from vision.features import StampFeatures
from vision.imageio import ImageLimits, decode_image
from vision.pipeline import (
    Box,
    DecisionThresholds,
    FusionWeights,
    Timings,
    decide,
    fused_score,
    vectorise,
)
from vision.verify import verify

log = logging.getLogger(__name__)
SHORTLIST = 20


@dataclass(frozen=True, kw_only=True)
class SearchFilters:
    country: str | None = None
    direction: Direction | None = None
    mode: Mode | None = None
    on_date: dt.date | None = None
    include_withdrawn: bool = False

    @property
    def restrictive(self) -> bool:
        return (
            bool(self.country or self.direction or self.mode or self.on_date)
            or not self.include_withdrawn
        )


@dataclass(frozen=True)
class Match:
    specimen_id: int
    score: float
    similarity: float
    verified: bool
    inliers: int
    agreement: float


@dataclass
class SearchOutcome:
    decision: str
    matches: list[Match]
    box: Box
    timings_ms: dict[str, float] = field(default_factory=dict)


def load_decision(embedder: Embedder) -> tuple[FusionWeights, DecisionThresholds]:
    """Weights and thresholds calibrated for this model; without them nothing is called a match."""
    decision = embedder.sidecar.get("decision", {})
    weights = FusionWeights(**decision.get("weights", {}))
    thresholds = decision.get("thresholds")
    if not thresholds:
        log.warning(
            "model %s has no calibrated thresholds: no result will be called a match",
            embedder.model_id,
        )
        return weights, DecisionThresholds(match=float("inf"), no_match=float("-inf"))
    return weights, DecisionThresholds(**thresholds)


class SearchEngine:
    def __init__(
        self, *, engine: Engine, embedder: Embedder, index_dir: Path, cache_size: int = 20_000
    ) -> None:
        self.engine = engine
        self.embedder = embedder
        self.index_path = index_dir / f"{embedder.model_name}.faiss"
        self.weights, self.thresholds = load_decision(embedder)
        self._features: OrderedDict[int, StampFeatures] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.index = self._open_index()
        self.indexer = Indexer(embedder=embedder, index=self.index)

    def _open_index(self) -> SpecimenIndex:
        model_id, dimension = self.embedder.model_id, self.embedder.dimension
        with Session(self.engine) as session:
            ids, vectors = stored_embeddings(session, model_id)
        try:
            index = SpecimenIndex.load(self.index_path, model_id=model_id, dimension=dimension)
            if sorted(index.ids().tolist()) == sorted(ids):
                return index
            log.warning("index %s is out of step with the catalogue; rebuilding", self.index_path)
        except IndexMismatchError as exc:
            log.info("%s", exc)
        index = SpecimenIndex(dimension=dimension, model_id=model_id)
        if ids:
            index.upsert(ids, vectors)
        index.save(self.index_path)
        return index

    def save(self) -> None:
        self.index.save(self.index_path)

    def _specimen_features(self, ids: list[int]) -> dict[int, StampFeatures]:
        with self._lock:
            found = {i: self._features[i] for i in ids if i in self._features}
        missing = [i for i in ids if i not in found]
        if missing:
            with Session(self.engine) as session:
                rows = session.exec(
                    select(SpecimenVectors.specimen_id, SpecimenVectors.features).where(
                        col(SpecimenVectors.specimen_id).in_(missing)
                    )
                ).all()
            with self._lock:
                for specimen_id, blob in rows:
                    features = StampFeatures.from_bytes(blob)
                    found[int(specimen_id)] = self._features[int(specimen_id)] = features
                while len(self._features) > self._cache_size:
                    self._features.popitem(last=False)
        return found

    def allowed_ids(self, filters: SearchFilters) -> list[int] | None:
        if not filters.restrictive:
            return None
        query = select(Specimen.id)
        if not filters.include_withdrawn:
            query = query.where(Specimen.status != Status.WITHDRAWN)
        if filters.country:
            query = query.where(Specimen.country == filters.country.upper())
        if filters.direction:
            query = query.where(Specimen.direction == filters.direction)
        if filters.mode:
            query = query.where(Specimen.mode == filters.mode)
        if filters.on_date:
            query = query.where(
                or_(
                    col(Specimen.valid_from).is_(None), col(Specimen.valid_from) <= filters.on_date
                ),
                or_(col(Specimen.valid_to).is_(None), col(Specimen.valid_to) >= filters.on_date),
            )
        with Session(self.engine) as session:
            return [int(i) for i in session.exec(query).all() if i is not None]

    def search_rgb(
        self,
        rgb: NDArray[np.uint8],
        filters: SearchFilters,
        *,
        top_k: int = 5,
        box: Box | None = None,
        timings: Timings | None = None,
        verify_shortlist: bool = True,
    ) -> SearchOutcome:
        timings = timings or Timings()
        query = vectorise(self.embedder, [rgb], [box], timings)[0]
        allowed = self.allowed_ids(filters)
        hits = self.index.search(query.embedding, max(SHORTLIST, top_k), allowed)
        timings.mark("shortlist")
        features = (
            self._specimen_features([hit.specimen_id for hit in hits]) if verify_shortlist else {}
        )
        scored = []
        for hit in hits:
            check = (
                verify(query.features, features[hit.specimen_id])
                if hit.specimen_id in features
                else None
            )
            scored.append(
                Match(
                    specimen_id=hit.specimen_id,
                    score=round(fused_score(hit.score, check, self.weights), 4),
                    similarity=round(hit.score, 4),
                    verified=bool(check and check.verified),
                    inliers=check.inliers if check else 0,
                    agreement=round(check.agreement, 4) if check else 0.0,
                )
            )
        scored.sort(key=lambda match: -match.score)
        timings.mark("verify")
        decision = decide(
            [m.score for m in scored], bool(scored and scored[0].verified), self.thresholds
        )
        timings.mark("decide")
        return SearchOutcome(
            decision=decision, matches=scored[:top_k], box=query.box, timings_ms=timings.stages
        )

    def search_bytes(
        self,
        data: bytes,
        filters: SearchFilters,
        *,
        top_k: int = 5,
        box: Box | None = None,
        limits: ImageLimits | None = None,
    ) -> SearchOutcome:
        timings = Timings()
        rgb = decode_image(data, limits).rgb
        timings.mark("decode")
        return self.search_rgb(rgb, filters, top_k=top_k, box=box, timings=timings)


def write_decision(
    embedder: Embedder,
    weights: FusionWeights,
    thresholds: DecisionThresholds,
    evidence: dict[str, object],
) -> None:
    """Store calibrated weights and thresholds in the model's sidecar."""
    if embedder.weights is None:
        raise ValueError("a model without a weights file has no sidecar to calibrate")
    from vision.models import sidecar_path

    path = sidecar_path(embedder.weights)
    sidecar = json.loads(path.read_text()) if path.is_file() else {}
    sidecar["decision"] = {
        "weights": weights.__dict__,
        "thresholds": thresholds.__dict__,
        "calibration": evidence,
    }
    path.write_text(json.dumps(sidecar, indent=2) + "\n")
