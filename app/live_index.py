"""The search indexes of one StampLib process, kept in step with a shared catalogue.

Every catalogue change that search must see appends a `CatalogueChange` row in the
same transaction. A process opens its index from its local file, else from the snapshot
in the object store, else builds it from the vectors kept in the catalogue; then it
replays the changes after the position the index records, and keeps replaying them at
most `follow_every_s` apart. So several API processes that share PostgreSQL and the
object store see each other's additions and withdrawals within seconds, and a search
never sees a half-built index: a rebuilt index replaces the old one in one assignment.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.core.models import CatalogueChange, Specimen, SpecimenVectors, Status
from app.core.storage import ObjectNotFoundError, ObjectStore, StorageError
from index import DescriptorIndex, IndexMismatchError, SpecimenIndex
from index.specimen_index import IndexPlan
from ingestion.vectors import stored_embeddings, stored_features, vector_ids
from vision.features import StampFeatures

log = logging.getLogger(__name__)
SNAPSHOT_PREFIX = "index/"
GAP_PATIENCE_S = 30.0  # how long a missing change number may still be an open transaction


@dataclass
class _Cursor:
    """Which change rows are applied: all up to `floor`, and `seen` ones above it.

    Change numbers commit out of order when transactions overlap; a gap below a seen
    number is waited for (it may be a transaction still open) until it is too old.
    """

    floor: int = 0
    seen: set[int] = field(default_factory=set)
    gaps: dict[int, float] = field(default_factory=dict)

    def take(self, seqs: list[int]) -> list[int]:
        fresh = [s for s in seqs if s not in self.seen]
        self.seen.update(fresh)
        top = max(self.seen, default=self.floor)
        now = time.monotonic()
        while self.floor < top:
            following = self.floor + 1
            if following in self.seen:
                self.seen.discard(following)
            elif now - self.gaps.setdefault(following, now) < GAP_PATIENCE_S:
                break
            self.gaps.pop(following, None)
            self.floor = following
        return fresh


class LiveIndex:
    def __init__(
        self,
        *,
        engine: Engine,
        store: ObjectStore | None,
        model_id: str,
        dimension: int,
        path: Path,
        plan: IndexPlan | None = None,
        follow_every_s: float = 1.0,
        heal: bool = True,
        on_change: Callable[[list[int] | None], None] | None = None,
        on_load: Callable[[dict[int, StampFeatures]], None] | None = None,
    ) -> None:
        """Open and follow the index; with `heal`, rebuild it if it disagrees with the catalogue
        (`stamplib index check` opens it without healing, to report what it finds).
        `on_change` hears which specimens' vectors it took in anew (None: all of them, on a
        rebuild), so that what a process keeps of them elsewhere can be dropped; `on_load`
        is handed every specimen's local features, one specimen at a time, whenever their
        descriptors are taken in (on opening, rebuilding and following), decoded once for
        both."""
        self.on_change = on_change
        self.on_load = on_load
        self.engine = engine
        self.store = store
        self.model_id = model_id
        self.dimension = dimension
        self.path = path
        self.plan = plan or IndexPlan()
        self.follow_every_s = follow_every_s
        self.embeddings = self._open()
        self.descriptors = DescriptorIndex()
        self.hidden: frozenset[int] = frozenset()  # withdrawn: searched only when asked
        self._cursor = _Cursor(floor=self.embeddings.catalogue_seq)
        self._followed_at = 0.0
        self._lock = threading.Lock()
        self._load_descriptors_and_hidden()
        self.follow(force=True)
        if heal:
            self._check_against_catalogue()

    @property
    def snapshot_key(self) -> str:
        return f"{SNAPSHOT_PREFIX}{self.path.name}"

    def _open(self) -> SpecimenIndex:
        try:
            return SpecimenIndex.load(self.path, model_id=self.model_id, dimension=self.dimension)
        except IndexMismatchError as exc:
            if self.path.exists():  # a new process or library simply has no index file yet
                log.warning("%s; trying the snapshot in the object store", exc)
        snapshot = self._snapshot()
        if snapshot is not None:
            return snapshot
        return self._built_from_catalogue()

    def _snapshot(self) -> SpecimenIndex | None:
        if self.store is None:
            return None
        try:
            data = self.store.get(self.snapshot_key)
            sidecar = json.loads(self.store.get(self.snapshot_key + ".json"))
            index = SpecimenIndex.from_bytes(
                data,
                sidecar,
                model_id=self.model_id,
                dimension=self.dimension,
                origin=f"snapshot {self.snapshot_key}",
            )
        except ObjectNotFoundError:
            return None
        except (IndexMismatchError, StorageError, json.JSONDecodeError) as exc:
            log.warning("index snapshot not usable (%s); building from the catalogue", exc)
            return None
        log.info("index opened from the snapshot in the object store (%d vectors)", len(index))
        return index

    def _built_from_catalogue(self) -> SpecimenIndex:
        with Session(self.engine) as session:
            seq = session.exec(select(func.max(CatalogueChange.seq))).one() or 0
            ids, vectors = stored_embeddings(session, self.model_id)
        index = SpecimenIndex.build(
            ids, vectors, model_id=self.model_id, dimension=self.dimension, plan=self.plan
        )
        # changes up to `seq` are in; any later one is replayed (upserts are idempotent)
        index.catalogue_seq = int(seq)
        return index

    def _load_descriptors_and_hidden(self) -> None:
        with Session(self.engine) as session:
            rows = stored_features(session, self.model_id)
            withdrawn = session.exec(
                select(Specimen.id).where(Specimen.status == Status.WITHDRAWN)
            ).all()
        descriptors = []
        for specimen_id, blob in rows:
            features = StampFeatures.from_bytes(blob)
            descriptors.append((specimen_id, features.descriptors))
            if self.on_load:  # one at a time: what is kept of them is bounded there
                self.on_load({specimen_id: features})
        started = time.perf_counter()
        self.descriptors.bulk_load(descriptors)
        log.info(
            "descriptor index of %d specimens built in %.1f s: %d descriptors, %s",
            len(descriptors),
            time.perf_counter() - started,
            len(self.descriptors),
            self.descriptors.layout,
        )
        self.hidden = frozenset(int(i) for i in withdrawn if i is not None)

    def _check_against_catalogue(self) -> None:
        with Session(self.engine) as session:
            ids = vector_ids(session, self.model_id)
        if set(self.embeddings.ids().tolist()) != ids:
            log.warning("index %s is out of step with the catalogue; rebuilding", self.path)
            self.rebuild_from_catalogue()

    def follow(self, *, force: bool = False) -> int:
        """Apply catalogue changes made since the last call (by any process); how many."""
        now = time.monotonic()
        if not force and now - self._followed_at < self.follow_every_s:
            return 0
        with self._lock:
            self._followed_at = now
            with Session(self.engine) as session:
                rows = session.exec(
                    select(CatalogueChange.seq, CatalogueChange.specimen_id)
                    .where(col(CatalogueChange.seq) > self._cursor.floor)
                    .order_by(col(CatalogueChange.seq))
                ).all()
                fresh = set(self._cursor.take([int(seq) for seq, _ in rows if seq is not None]))
                changed = sorted({int(s) for seq, s in rows if seq in fresh})
                if changed:
                    self._apply(session, changed)
            self.embeddings.catalogue_seq = self._cursor.floor
            return len(changed)

    def _apply(self, session: Session, changed: list[int]) -> None:
        vectors = {
            row.specimen_id: row
            for row in session.exec(
                select(SpecimenVectors).where(
                    col(SpecimenVectors.specimen_id).in_(changed),
                    SpecimenVectors.model_id == self.model_id,
                )
            ).all()
        }
        statuses = dict(
            session.exec(
                select(Specimen.id, Specimen.status).where(col(Specimen.id).in_(changed))
            ).all()
        )
        if self.on_change:  # what is kept of them elsewhere is stale
            self.on_change(changed)
        hidden = set(self.hidden)
        for specimen_id in changed:
            row = vectors.get(specimen_id)
            if row is None:
                self.embeddings.remove([specimen_id])
                self.descriptors.remove(specimen_id)
            else:
                features = StampFeatures.from_bytes(row.features)
                self.embeddings.upsert([specimen_id], _embedding(row))
                self.descriptors.add(specimen_id, features.descriptors)
                if self.on_load:
                    self.on_load({specimen_id: features})
            if statuses.get(specimen_id) == Status.WITHDRAWN:
                hidden.add(specimen_id)
            else:
                hidden.discard(specimen_id)
        self.hidden = frozenset(hidden)
        log.info("search follows %d changed specimens", len(changed))

    def rebuild_from_catalogue(self) -> int:
        """Both indexes anew from the vectors kept in the catalogue; swapped in when complete."""
        fresh = self._built_from_catalogue()
        with self._lock:
            self.embeddings = fresh
            self._cursor = _Cursor(floor=fresh.catalogue_seq)
            if self.on_change:
                self.on_change(None)
            self._load_descriptors_and_hidden()
        self.follow(force=True)
        return len(self.embeddings)

    def save(self, *, snapshot: bool = True) -> None:
        """Write the index file and, for other processes to start from, the snapshot."""
        sidecar = self.embeddings.save(self.path)
        if snapshot and self.store is not None:
            try:
                self.store.put(
                    self.snapshot_key, self.path.read_bytes(), "application/octet-stream"
                )
                self.store.put(
                    self.snapshot_key + ".json", json.dumps(sidecar).encode(), "application/json"
                )
            except StorageError as exc:
                log.warning("index snapshot not written to the object store: %s", exc)


def _embedding(row: SpecimenVectors) -> NDArray[np.float32]:
    return np.frombuffer(row.embedding, dtype=np.float32)[None, :]
