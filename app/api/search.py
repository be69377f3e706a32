"""Visual search: a photo of a stamp in, ranked genuine specimens and a decision out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from app.auth.users import Principal
from app.core.models import Direction, Mode, Specimen
from app.deps import OfficerDep, ServicesDep, SessionDep, read_upload
from app.queries import keep_query, new_query_id
from app.search import Match, SearchFilters
from app.services import Services
from vision.imageio import decode_image
from vision.pipeline import Box, Timings

router = APIRouter(prefix="/search", tags=["search"])


class MatchPublic(BaseModel):
    specimen_id: int
    score: float
    similarity: float
    verified: bool
    inliers: int
    country: str
    bcp_name: str
    direction: str
    mode: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    status: str
    thumbnail_url: str


CAVEATS = (
    "what to act on about the first match: part_shown (the box shows only part of its "
    "specimen), word_differs (the photo does not look like it in one of its words), "
    "other_ink (the box holds another impression besides it); each keeps it from being "
    "called a match"
)


class StampResults(BaseModel):
    """The result set of one more impression on the same photo."""

    crop: Box = Field(description="the impression's box, x, y, w, h")
    decision: str
    confidence: float
    matches: list[MatchPublic]
    outline: list[tuple[float, float]] | None = None
    caveats: list[str] = Field(default_factory=list, description=CAVEATS)


class SearchResponse(BaseModel):
    decision: str = Field(description="match, uncertain or no_match")
    confidence: float = Field(description="calibrated probability that the first match is right")
    matches: list[MatchPublic]
    crop: Box = Field(description="the stamp box used, x, y, w, h")
    outline: list[tuple[float, float]] | None = Field(
        default=None,
        description="where the first match's specimen lies on the photo: its four corners "
        "(x, y), when verified; the stamp the answer is about, even when the box held two",
    )
    caveats: list[str] = Field(default_factory=list, description=CAVEATS)
    timings_ms: dict[str, float]
    other_stamps: list[Box] = Field(
        default_factory=list,
        description="other impressions found on the photo; send one as `crop` to search it",
    )
    stamps: list[StampResults] | None = Field(
        default=None, description="with each_stamp: a result set for every other impression"
    )
    query_id: str | None = Field(
        default=None, description="the kept photo: compare it, or save the search as a check"
    )


def parse_crop(value: str | None) -> tuple[int, int, int, int] | None:
    if not value:
        return None
    parts = value.split(",")
    if len(parts) != 4 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise ValueError("crop must be four integers: x,y,w,h")
    x, y, w, h = (int(p) for p in parts)
    if w < 8 or h < 8 or x < 0 or y < 0:
        raise ValueError("crop must have x, y >= 0 and a width and height of at least 8 pixels")
    return x, y, w, h


def public_matches(session: Session, found: list[Match]) -> list[MatchPublic]:
    """Ranked matches with the catalogue fields an examiner reads."""
    ids = [match.specimen_id for match in found]
    specimens = {
        s.id: s for s in session.exec(select(Specimen).where(col(Specimen.id).in_(ids))).all()
    }
    return [
        MatchPublic(
            specimen_id=m.specimen_id,
            score=m.score,
            similarity=m.similarity,
            verified=m.verified,
            inliers=m.inliers,
            country=s.country,
            bcp_name=s.bcp_name,
            direction=s.direction,
            mode=s.mode,
            valid_from=s.valid_from,
            valid_to=s.valid_to,
            status=s.status,
            thumbnail_url=f"/api/v1/specimens/{s.id}/thumbnail",
        )
        for m in found
        if (s := specimens.get(m.specimen_id)) is not None
    ]


@router.post("")
async def search(
    services: ServicesDep,
    session: SessionDep,
    principal: OfficerDep,
    image: Annotated[UploadFile, File(description="photo or scan of the stamp")],
    top_k: Annotated[int, Form(ge=1, le=50)] = 5,
    country: Annotated[str | None, Form(min_length=3, max_length=3)] = None,
    direction: Annotated[Direction | None, Form()] = None,
    mode: Annotated[Mode | None, Form()] = None,
    on_date: Annotated[dt.date | None, Form(description="date on the stamp")] = None,
    crop: Annotated[str | None, Form(description="x,y,w,h of the stamp in the photo")] = None,
    each_stamp: Annotated[
        bool, Form(description="also search every other impression found on the photo")
    ] = False,
) -> SearchResponse:
    services.search_limit.take(principal.username)
    data = await read_upload(image, services.settings.uploads.max_bytes)
    filters = SearchFilters(country=country, direction=direction, mode=mode, on_date=on_date)
    result = await run_in_threadpool(
        search_photo,
        services,
        session,
        data,
        filters,
        top_k=top_k,
        box=parse_crop(crop),
        each_stamp=each_stamp,
    )
    await run_in_threadpool(remember_query, services, data, result)
    audit_search(services, principal, result)
    return result


def remember_query(services: Services, photo: bytes, result: SearchResponse) -> None:
    """Keep the photo and what search said of it (deleted after the retention period)."""
    result.query_id = new_query_id()
    keep_query(
        services.store, result.query_id, photo, result.model_dump(mode="json", exclude={"query_id"})
    )


def audit_search(services: Services, principal: Principal, result: SearchResponse) -> None:
    services.metrics.observe_search(result.decision, result.timings_ms)
    details: dict[str, object] = {
        "decision": result.decision,
        "first": [match.specimen_id for match in result.matches[:3]],
    }
    if result.stamps is not None:  # the other impressions searched in the same request
        details["stamps"] = [
            {
                "crop": list(stamp.crop),
                "decision": stamp.decision,
                "first": [match.specimen_id for match in stamp.matches[:3]],
            }
            for stamp in result.stamps
        ]
    services.audit(principal.username, "search", "", **details)


def search_photo(
    services: Services,
    session: Session,
    data: bytes,
    filters: SearchFilters,
    *,
    top_k: int,
    box: Box | None,
    each_stamp: bool = False,
) -> SearchResponse:
    """One search as the API, the web page and the CLI run it: the photo is decoded once,
    its stamp (or the given box) searched and, with `each_stamp`, every other impression."""
    timings = Timings()
    rgb = decode_image(data, services.image_limits).rgb
    timings.mark("decode")
    engine = services.search
    outcome = engine.search_rgb(rgb, filters, top_k=top_k, box=box, timings=timings)
    result = SearchResponse(
        decision=outcome.decision,
        confidence=outcome.confidence,
        matches=public_matches(session, outcome.matches),
        crop=outcome.box,
        outline=outcome.outline,
        caveats=outcome.caveats,
        timings_ms=rounded_timings(outcome.timings_ms),
        other_stamps=outcome.others,
    )
    if each_stamp:
        result.stamps = []
        for other in outcome.others:
            found = engine.search_rgb(rgb, filters, top_k=top_k, box=other)
            result.stamps.append(
                StampResults(
                    crop=found.box,
                    outline=found.outline,
                    caveats=found.caveats,
                    decision=found.decision,
                    confidence=found.confidence,
                    matches=public_matches(session, found.matches),
                )
            )
    return result


def rounded_timings(stages: dict[str, float]) -> dict[str, float]:
    timings = {name: round(ms, 1) for name, ms in stages.items()}
    timings["total"] = round(sum(stages.values()), 1)
    return timings
