"""The officer's pages: check a stamp, see the ranked specimens, compare with one."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pycountry
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select

from app.api.search import audit_search, parse_crop, remember_query, search_photo
from app.comparisons import run_comparison, true_size
from app.core import catalogue
from app.core.models import Direction, Mode, Specimen
from app.deps import Identifier, OfficerDep, ServicesDep, SessionDep, read_upload
from app.pages import templates
from app.queries import query_photo, query_result
from app.search import CAVEAT_TEXT, SearchFilters
from vision.alignment import AlignmentError
from vision.imageio import decode_image

router = APIRouter()


def library_countries(session: SessionDep) -> list[tuple[str, str]]:
    codes = session.exec(select(Specimen.country).distinct().order_by(col(Specimen.country))).all()
    return [(code, _country_name(code)) for code in codes]


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_3=code)
    return str(country.name) if country else code


def _blank(value: str | None) -> str | None:
    return value or None


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, session: SessionDep, principal: OfficerDep) -> Response:
    context = {"nav": "search", "countries": library_countries(session), "modes": list(Mode)}
    return templates.TemplateResponse(request, "pages/search.html", context)


@router.post("/search", response_class=HTMLResponse)
async def search_results(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    principal: OfficerDep,
    image: Annotated[UploadFile, File()],
    country: Annotated[str | None, Form()] = None,
    direction: Annotated[str | None, Form()] = None,
    mode: Annotated[str | None, Form()] = None,
    on_date: Annotated[str | None, Form()] = None,
    crop: Annotated[str | None, Form()] = None,
) -> Response:
    """The decision banner and ranked results (an htmx partial); the photo is kept so the
    officer can compare it with a specimen next."""
    services.search_limit.take(principal.username)
    data = await read_upload(image, services.settings.uploads.max_bytes)
    filters = SearchFilters(
        country=_blank(country),
        direction=Direction(direction) if direction else None,
        mode=Mode(mode) if mode else None,
        on_date=_parse_date(on_date),
    )
    box = parse_crop(crop)
    result = await run_in_threadpool(
        search_photo, services, session, data, filters, top_k=5, box=box
    )
    await run_in_threadpool(remember_query, services, data, result)
    audit_search(services, principal, result)
    context = {
        "outcome": result,
        "matches": result.matches,
        "query_id": result.query_id,
        "cropped": box is not None,
        "caveat_text": CAVEAT_TEXT,
    }
    return templates.TemplateResponse(request, "partials/results.html", context)


def _parse_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@router.get("/compare/{query_id}/{specimen_id}", response_class=HTMLResponse)
async def compare_page(
    request: Request,
    query_id: str,
    specimen_id: Identifier,
    services: ServicesDep,
    session: SessionDep,
    principal: OfficerDep,
) -> Response:
    specimen = catalogue.get_specimen(session, specimen_id)
    store = services.store
    photo = await run_in_threadpool(query_photo, store, query_id)
    crop = await run_in_threadpool(query_result, store, query_id)
    reference = await run_in_threadpool(store.get, specimen.image_key)
    context: dict[str, object] = {
        "nav": "search",
        "specimen": specimen,
        "true_size": true_size(specimen),
        "error": None,
        "query_id": query_id,
    }
    try:
        stored = await run_in_threadpool(
            lambda: run_comparison(
                store,
                decode_image(reference).rgb,
                decode_image(photo, services.image_limits).rgb,
                mode="stamp",
                box=tuple(crop["crop"]),
            )
        )
        context["result"] = stored.result
        services.audit(
            principal.username, "compare", f"comparison:{stored.id}", specimen_id=specimen_id
        )
    except AlignmentError as exc:
        context["error"] = str(exc)
    return templates.TemplateResponse(request, "pages/compare.html", context)
