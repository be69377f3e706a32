"""Visual search: photo in, ranked genuine specimens and a decision out."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.catalogue import SpecimenFilter, apply_filter, note_change
from app.core.models import Direction, Mode, Specimen
from app.core.storage import ObjectStore
from app.live_index import LiveIndex
from index import DescriptorIndex, Neighbours, SpecimenIndex
from index.specimen_index import IndexPlan
from ingestion.vectors import Indexer, features_of, vector_ids
from vision.embedder import Embedder
from vision.features import Shape, StampFeatures
from vision.imageio import ImageLimits, decode_image
from vision.kept import Kept
from vision.localise import PAD, Frame, find_stamps, outline_in_photo
from vision.pipeline import (
    FEATURES,
    Box,
    DecisionModel,
    FusionWeights,
    Ranked,
    Timings,
    caveats,
    decide,
    fused_score,
    prior_score,
    vectorise,
)
from vision.twins import (
    Contender,
    KeptShapes,
    OwnAlignments,
    TwinEvidence,
    coverage,
    head_to_head,
    shape_of,
    weakest_word,
)
from vision.verify import Verification, verify
from vision.workers import parallel_map

log = logging.getLogger(__name__)
# Candidates from the descriptor votes and from the embedding; all of them are verified.
# Each finds designs the other misses: on validation world 7777, the embedding's 11th to
# 30th place held the right design for 23 of 200 hard photos that the votes' 30 did not
# (the 50th for 6 more, not worth the time).
BY_VOTES = 30
BY_EMBEDDING = 30
SHORTLIST = BY_VOTES + BY_EMBEDDING  # the most candidates a search ranks
MAX_STAMPS = 4  # impressions on one photo that a search reports
# A first result that the photo does not look like in one of its words (another BCP's name)
# gives way to the next verified result among the first WORD_ROUND that it looks like in every
# word (weakest word at least WORDS_ALIKE, the decision's `min_word`) and sides with against
# the first where the two differ: the near-twin round meets only the first verified results
# of close score, and a faint or blurred name can leave the right design lower. On validation
# worlds 7777 and 7778 (200 phone, 200 hard, 200 unknown photos each) the right design came
# first for 1 and 5 more phone photos and 0 and 1 more hard ones, none lost, and no unknown
# stamp changed its decision; without the condition of siding with it, a wrong design whose
# words happened to look alike displaced 4 right first results of world 7777 (with the
# first where the two could not be compared). It tries up to 11 results' words when the first
# differs in one (most unknown stamps): on the bench the twins stage took 29 -> 36 ms p50,
# 82 -> 143 ms p95.
WORD_ROUND = 12
WORDS_ALIKE = DecisionModel.min_word
# Near-twins: up to this many first verified results, within the margin of the first's fused
# score, meet in pairs; the one the photo sides with most takes first place (see settle_twins).
TWIN_ROUND = 5
TWIN_MARGIN = 6.0
# A found box that shows only part of its first result's specimen is searched again, grown
# to the specimen's outline, when that grows it by at least this factor of area; the whole
# is the answer when it has the same first result (else the grown box took in another
# impression: one unknown stamp of 400 was matched to a genuine stamp beside it). On the
# validation worlds 7777 and 7778 (200 photos a split, 400 unknown stamps) phone photos
# decided `match` went 129 -> 141 and 130 -> 138, hard 23 -> 29 and 24 -> 27; unknown
# stamps matched unchanged (1 and 2).
WIDER = 1.1
# what the officer is told of each caveat (`vision.pipeline.caveats`), on the page and report
CAVEAT_TEXT = {
    "part_shown": "The photo shows only part of the first result's specimen: "
    "photograph or crop the whole stamp.",
    "word_differs": "A word of the first result's specimen does not look the same on the "
    "photo: read the BCP name against it.",
    "other_ink": "The searched area holds another impression besides the first result: "
    "crop to the stamp you are checking.",
}


@dataclass(frozen=True, kw_only=True)
class SearchFilters:
    country: str | None = None
    direction: Direction | None = None
    mode: Mode | None = None
    on_date: dt.date | None = None
    include_withdrawn: bool = False

    @property
    def narrowing(self) -> bool:
        """Whether the filter keeps only some of the library (beyond leaving withdrawn out)."""
        return bool(self.country or self.direction or self.mode or self.on_date)


@dataclass(frozen=True)
class Match:
    specimen_id: int
    score: float
    similarity: float
    votes: float
    verified: bool
    inliers: int
    agreement: float

    def evidence(self) -> Ranked:
        """What decisions look at of this result."""
        return Ranked(self.score, self.agreement, self.inliers, self.verified)


@dataclass
class SearchOutcome:
    decision: str
    confidence: float  # the decision model's probability that the first result is right
    matches: list[Match]
    box: Box
    timings_ms: dict[str, float] = field(default_factory=dict)
    others: list[Box] = field(default_factory=list)  # other impressions found on the photo
    twins: TwinEvidence = field(default_factory=TwinEvidence)  # how the first beat its rivals
    # where the first result's specimen lies on the photo (4 corners), when it was verified
    outline: list[tuple[float, float]] | None = None
    caveats: list[str] = field(default_factory=list)  # see vision.pipeline.caveats


def load_decision(embedder: Embedder) -> tuple[FusionWeights, DecisionModel]:
    """Weights and decision model calibrated for this model; without them nothing is a match."""
    decision = embedder.sidecar.get("decision", {})
    weights = FusionWeights(**decision.get("weights", {}))
    model = decision.get("model")
    if not model:
        log.warning(
            "model %s is not calibrated: no result will be called a match", embedder.model_id
        )
        return weights, DecisionModel()
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in model.items()}
    if len(fields.get("coefficients", ())) != FEATURES:
        log.warning(
            "model %s was calibrated on other decision features: no result will be called a "
            "match until `stamplib calibrate` is run",
            embedder.model_id,
        )
        return weights, DecisionModel()
    return weights, DecisionModel(**fields)


def index_file(index_dir: Path, embedder: Embedder) -> Path:
    """Where a process keeps its index of this model's embeddings."""
    return index_dir / f"{embedder.model_name}.faiss"


class SearchEngine:
    def __init__(
        self,
        *,
        engine: Engine,
        embedder: Embedder,
        index_dir: Path,
        store: ObjectStore | None = None,
        plan: IndexPlan | None = None,
        cache_size: int = 20_000,
    ) -> None:
        self.engine = engine
        self.embedder = embedder
        self.weights, self.decision_model = load_decision(embedder)
        self._features: Kept[int, StampFeatures] = Kept(cache_size)
        self.alignments = OwnAlignments()  # near-twins' alignments onto each other
        self.shapes = KeptShapes(cache_size)  # first results' words and outlines
        self.live = LiveIndex(
            engine=engine,
            store=store,
            model_id=embedder.model_id,
            dimension=embedder.dimension,
            path=index_file(index_dir, embedder),
            plan=plan,
            on_change=self._forget,
            on_load=self._features.keep,
        )
        self.indexer = Indexer(embedder=embedder)

    @property
    def index(self) -> SpecimenIndex:
        return self.live.embeddings

    @property
    def descriptors(self) -> DescriptorIndex:
        return self.live.descriptors

    def save(self) -> None:
        self.live.save()

    def rebuild(self, store: ObjectStore, batch: int = 16, *, recompute: bool = False) -> int:
        """Vectors for specimens that lack them (every specimen's with `recompute`), from
        their images, then both indexes anew."""
        with Session(self.engine) as session:
            done = set() if recompute else vector_ids(session, self.embedder.model_id)
            missing = [s for s in session.exec(select(Specimen)).all() if s.id not in done]
            for start in range(0, len(missing), batch):
                chunk = missing[start : start + batch]
                images = [decode_image(store.get(s.image_key)).rgb for s in chunk]
                for specimen, vectors in zip(chunk, self.indexer.vectors_for(images), strict=True):
                    assert specimen.id is not None
                    session.merge(self.indexer.row(specimen.id, vectors))
                    note_change(session, specimen.id)
                session.commit()
        count = self.live.rebuild_from_catalogue()
        self.save()
        return count

    def _forget(self, ids: list[int] | None) -> None:
        """Drop the kept local features of specimens whose vectors changed (all: None), so
        that verification matches the descriptor index, which has taken in the new ones."""
        self._features.drop(None if ids is None else set(ids).__contains__)
        self.alignments.forget(ids)
        self.shapes.forget(ids)

    def _specimen_features(self, ids: list[int]) -> dict[int, StampFeatures]:
        found = self._features.found(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            with Session(self.engine) as session:
                loaded = features_of(session, missing)
            self._features.keep(loaded)
            found.update(loaded)
        return found

    def allowed_ids(self, filters: SearchFilters) -> list[int] | None:
        """The ids a filter allows, from the catalogue; None when only withdrawn are left out
        (the index leaves those out itself)."""
        if not filters.narrowing:
            return None
        spec = SpecimenFilter(
            country=filters.country,
            direction=filters.direction,
            mode=filters.mode,
            valid_on=filters.on_date,
            searchable=not filters.include_withdrawn,
        )
        with Session(self.engine) as session:
            return [
                int(i)
                for i in session.exec(apply_filter(select(Specimen.id), spec)).all()
                if i is not None
            ]

    def _candidates(
        self,
        embedding: NDArray[np.float32],
        neighbours: Neighbours,
        allowed: list[int] | None,
        include_withdrawn: bool,
    ) -> tuple[list[int], NDArray[np.float32], NDArray[np.float32]]:
        """Union of the descriptor votes' and the embedding's shortlists, with both scores.

        Votes are relative to the query's best-voted specimen, so that their scale does not
        depend on how many features the photo has."""
        hidden = self.live.hidden if allowed is None and not include_withdrawn else frozenset()
        hits = self.index.search(embedding, BY_EMBEDDING, allowed, excluded=sorted(hidden))
        allowed_set = set(allowed) if allowed is not None else None
        votes = {
            i: v
            for i, v in neighbours.votes().items()
            if (allowed_set is None or i in allowed_set) and i not in hidden
        }
        by_votes = sorted(votes, key=lambda i: -votes[i])[:BY_VOTES]
        ids = list(dict.fromkeys(by_votes + [hit.specimen_id for hit in hits]))
        if not ids:
            return [], np.zeros(0, np.float32), np.zeros(0, np.float32)
        similarity = self.index.vectors(ids) @ embedding
        scale = max(votes.values(), default=1.0)
        return (
            ids,
            similarity.astype(np.float32),
            np.array([votes.get(i, 0.0) / scale for i in ids], np.float32),
        )

    def search_rgb(
        self,
        rgb: NDArray[np.uint8],
        filters: SearchFilters,
        *,
        top_k: int = 5,
        box: Box | None = None,
        timings: Timings | None = None,
    ) -> SearchOutcome:
        """Search the impression in `box`, or else the most likely one found on the photo;
        the others found are offered to search next.

        A box found on the photo may cut its impression short (a faintly inked part apart
        from the rest); where the first result's specimen, verified, reaches beyond it, the
        box grows to hold the specimen's outline and the impression is searched whole, and
        that answer stands if it has the same first result. A given box is the officer's:
        it stands, and the caveat `part_shown` says what to do."""
        timings = timings or Timings()
        self.live.follow()
        if box is not None:
            return self._search_box(rgb, box, filters, top_k, timings)
        found = [region.box for region in find_stamps(rgb, max_regions=MAX_STAMPS)]
        first = found[0] if found else (0, 0, rgb.shape[1], rgb.shape[0])
        outcome = self._search_box(rgb, first, filters, top_k, timings)
        wider = widened(outcome, rgb.shape) if "part_shown" in outcome.caveats else None
        if wider is not None:
            whole = self._search_box(rgb, wider, filters, top_k, timings)
            if whole.matches and whole.matches[0].specimen_id == outcome.matches[0].specimen_id:
                outcome = whole
        outcome.others = [other for other in found[1:] if not mostly_inside(other, outcome.box)]
        return outcome

    def _search_box(
        self,
        rgb: NDArray[np.uint8],
        box: Box,
        filters: SearchFilters,
        top_k: int,
        timings: Timings,
    ) -> SearchOutcome:
        query = vectorise(self.embedder, [rgb], [box], timings)[0]
        neighbours = self.descriptors.neighbours(query.features.descriptors)
        ids, similarity, votes = self._candidates(
            query.embedding,
            neighbours,
            self.allowed_ids(filters),
            filters.include_withdrawn,
        )
        timings.mark("shortlist")
        prior = [
            prior_score(float(s), float(v), self.weights)
            for s, v in zip(similarity, votes, strict=True)
        ]
        order = sorted(range(len(ids)), key=lambda i: -prior[i])
        features = self._specimen_features(ids)
        verifiable = [ids[i] for i in order if ids[i] in features]

        def verified(specimen_id: int) -> Verification:
            pairs = neighbours.correspondences(specimen_id)
            return verify(query.features, features[specimen_id], pairs)

        # on both cores: RANSAC, warps and distance transforms release the GIL
        checks = dict(zip(verifiable, parallel_map(verified, verifiable), strict=True))
        scored = []
        for i in order:
            specimen_id = ids[i]
            check = checks.get(specimen_id)
            scored.append(
                Match(
                    specimen_id=specimen_id,
                    score=round(fused_score(prior[i], check, self.weights), 4),
                    similarity=round(float(similarity[i]), 4),
                    votes=round(float(votes[i]), 4),
                    verified=bool(check and check.verified),
                    inliers=check.inliers if check else 0,
                    agreement=round(check.agreement, 4) if check else 0.0,
                )
            )
        scored.sort(key=lambda match: -match.score)
        timings.mark("verify")
        frame = Frame(rgb.shape, query.box, query.features.ink.shape)
        scored, twins = settle_twins(
            query.features.ink, scored, features, checks, self.alignments, self.shapes, frame
        )
        timings.mark("twins")
        ranked = [m.evidence() for m in scored]
        decision, confidence = decide(ranked, twins, self.decision_model)
        check = checks.get(scored[0].specimen_id) if scored and scored[0].verified else None
        outline = (
            outline_in_photo(features[scored[0].specimen_id].ink, check.homography, frame)
            if check is not None and check.homography is not None
            else None
        )
        timings.mark("decide")
        return SearchOutcome(
            decision=decision,
            confidence=round(confidence, 4),
            matches=scored[:top_k],
            box=query.box,
            timings_ms=timings.stages,
            twins=twins,
            outline=outline,
            caveats=caveats(ranked, twins, self.decision_model),
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


def widened(outcome: SearchOutcome, shape: tuple[int, ...]) -> Box | None:
    """The searched box grown to hold the first result's outline on the photo (padded as
    `vision.localise` pads an impression, clipped to the photo); None when there is no
    outline or the box would grow by less than a tenth."""
    if outcome.outline is None:
        return None
    corners = np.array(outcome.outline)
    x, y, w, h = outcome.box
    left, top = np.minimum(corners.min(axis=0), (x, y))
    right, bottom = np.maximum(corners.max(axis=0), (x + w, y + h))
    pad = PAD * max(right - left, bottom - top)
    x0, y0 = max(0, int(left - pad)), max(0, int(top - pad))
    x1, y1 = min(shape[1], int(right + pad) + 1), min(shape[0], int(bottom + pad) + 1)
    if (x1 - x0) * (y1 - y0) < WIDER * w * h:
        return None
    return x0, y0, x1 - x0, y1 - y0


def mostly_inside(inner: Box, outer: Box, share: float = 0.5) -> bool:
    """Whether at least `share` of box `inner`'s area lies inside box `outer`."""
    ix = min(inner[0] + inner[2], outer[0] + outer[2]) - max(inner[0], outer[0])
    iy = min(inner[1] + inner[3], outer[1] + outer[3]) - max(inner[1], outer[1])
    return max(ix, 0) * max(iy, 0) >= share * inner[2] * inner[3]


def settle_twins(
    query_ink: NDArray[np.uint8],
    scored: list[Match],
    features: dict[int, StampFeatures],
    checks: dict[int, Verification],
    alignments: OwnAlignments | None = None,
    shapes: KeptShapes | None = None,
    frame: Frame | None = None,
) -> tuple[list[Match], TwinEvidence]:
    """The first verified results of close score meet in pairs; the one the photo sides with
    most, where the specimens differ, takes first place (see `vision.twins`). A first result
    the photo does not look like in one of its words then gives way to a later one it looks
    like in every word and sides with against the first (`_alike_instead`).

    Also how clearly the first result won: over the others it met, or over the next verified
    result when no other came close enough to meet it (nothing when there is no second
    verified result); how well the photo looks like it in its least alike word; how much of
    it the box shows and what else the box holds, and, given where the box lies on the photo
    (`frame`), how likely the photo was taken of that other ink instead. Decisions weigh
    them all."""
    verified = [
        (
            m,
            Contender(
                features[m.specimen_id], homography, checks[m.specimen_id].matched, m.specimen_id
            ),
        )
        for m in scored
        if m.verified and (homography := checks[m.specimen_id].homography) is not None
    ]
    meeting = [
        pair
        for pair in verified[:TWIN_ROUND]
        if verified[0][0].score - pair[0].score <= TWIN_MARGIN
    ]
    settle = len(meeting) >= 2
    if not settle:
        meeting = verified[:2]
    ranked, twins = scored, TwinEvidence()
    if len(meeting) >= 2:
        met = head_to_head(query_ink, [contender for _, contender in meeting], alignments)
        if settle:
            first = int(np.argmax(met.preference()))
            winner = meeting[first][0]
            ranked = [winner, *(m for m in scored if m is not winner)]
            twins = met.evidence(first)
        else:  # the order stands; only how clearly the first verified result wins
            twins = met.evidence(0)
    top = next((contender for m, contender in verified if m is ranked[0]), None)
    if top is None:
        return ranked, twins
    shape = _shape(top, shapes)
    word = weakest_word(query_ink, top, shape)
    if word < WORDS_ALIKE and (
        alike := _alike_instead(query_ink, ranked, verified, top, alignments, shapes)
    ):
        instead, contender, word, twins = alike
        ranked = [instead, *(m for m in ranked if m is not instead)]
        top = contender
        shape = _shape(top, shapes)
    shown = coverage(query_ink, top, shape)
    rival = (
        frame.prominence(shown.beside) / max(frame.prominence(shown.own), 1e-6)
        if frame is not None and shown.beside is not None
        else 0.0
    )
    return ranked, replace(
        twins,
        word=word,
        covered=shown.covered,
        unexplained=shown.unexplained,
        rival=rival,
    )


def _shape(contender: Contender, shapes: KeptShapes | None) -> Shape:
    """A contender's words and outline: kept between searches where `shapes` keeps them."""
    return shapes.of(contender) if shapes is not None else shape_of(contender.features)


def _alike_instead(
    query_ink: NDArray[np.uint8],
    ranked: list[Match],
    verified: list[tuple[Match, Contender]],
    first: Contender,
    alignments: OwnAlignments | None,
    shapes: KeptShapes | None,
) -> tuple[Match, Contender, float, TwinEvidence] | None:
    """The first verified result after the first, among the first WORD_ROUND, that the photo
    looks like in every word (`weakest_word` at least WORDS_ALIKE) and sides with against the
    first where the two differ (`head_to_head`); with its weakest word's correlation and how
    clearly it won. None when there is none."""
    contenders = {id(m): contender for m, contender in verified}
    for m in ranked[1:WORD_ROUND]:
        contender = contenders.get(id(m))
        if contender is None:
            continue
        word = weakest_word(query_ink, contender, _shape(contender, shapes))
        if word < WORDS_ALIKE:
            continue
        met = head_to_head(query_ink, [contender, first], alignments)
        if met.margins[0, 1] > 0:  # NaN (the two could not be compared) is no win
            return m, contender, word, met.evidence(0)
    return None


def write_decision(
    embedder: Embedder, weights: FusionWeights, model: DecisionModel, evidence: dict[str, object]
) -> None:
    """Store calibrated weights and the decision model in the model's sidecar."""
    if embedder.weights is None:
        raise ValueError("a model without a weights file has no sidecar to calibrate")
    from vision.models import sidecar_path

    path = sidecar_path(embedder.weights)
    sidecar = json.loads(path.read_text()) if path.is_file() else {}
    sidecar["decision"] = {
        "weights": weights.__dict__,
        "model": model.__dict__,
        "calibration": evidence,
    }
    path.write_text(json.dumps(sidecar, indent=2) + "\n")
