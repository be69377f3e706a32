"""The librarian's pages: browse by country and BCP, create, edit, withdraw, bulk upload."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import col, func, select

from app.api.ingest import start_ingest
from app.core import catalogue
from app.core.models import (
    Direction,
    Mode,
    Shape,
    Specimen,
    SpecimenCreate,
    SpecimenUpdate,
    Status,
)
from app.deps import (
    Identifier,
    LibrarianDep,
    OfficerDep,
    ServicesDep,
    SessionDep,
    check_country,
    read_upload,
)
from app.pages import templates
from app.pages.officer import _country_name
from ingestion.jobs import get_job
from ingestion.specimens import DuplicateImageError, add_specimen
from vision.errors import BadImageError

router = APIRouter()
FIELDS = (
    ("Country", "country"),
    ("Border crossing point", "bcp_name"),
    ("BCP code", "bcp_code"),
    ("Direction", "direction"),
    ("Mode", "mode"),
    ("Shape", "shape"),
    ("Ink colour", "ink_colour"),
    ("Width (mm)", "width_mm"),
    ("Height (mm)", "height_mm"),
    ("Security code", "security_code"),
    ("Valid from", "valid_from"),
    ("Valid to", "valid_to"),
    ("Status", "status"),
    ("Notes", "notes"),
    ("Created", "created_at"),
    ("Created by", "created_by"),
    ("Last changed", "updated_at"),
    ("Changed by", "updated_by"),
)
FORM_FIELDS = (
    "country",
    "bcp_name",
    "bcp_code",
    "direction",
    "mode",
    "shape",
    "ink_colour",
    "security_code",
    "valid_from",
    "valid_to",
    "notes",
)

REQUIRED = ("country", "bcp_name", "direction", "mode", "shape", "status")


def _choices() -> dict[str, Any]:
    return {"modes": list(Mode), "shapes": list(Shape), "statuses": list(Status)}


def _filter(**values: str | None) -> catalogue.SpecimenFilter:
    direction, mode, state = values.get("direction"), values.get("mode"), values.get("status")
    return catalogue.SpecimenFilter(
        country=values.get("country") or None,
        bcp=values.get("bcp") or None,
        direction=Direction(direction) if direction else None,
        mode=Mode(mode) if mode else None,
        status=Status(state) if state else None,
        text=values.get("q") or None,
    )


@router.get("/library", response_class=HTMLResponse)
def library(
    request: Request,
    session: SessionDep,
    principal: OfficerDep,
    country: str | None = None,
    bcp: str | None = None,
    direction: str | None = None,
    mode: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    q: str | None = None,
) -> Response:
    filters = {"country": country, "bcp": bcp, "direction": direction, "mode": mode}
    filters |= {"status": status_, "q": q}
    counts = session.exec(
        select(Specimen.country, func.count())
        .group_by(col(Specimen.country))
        .order_by(col(Specimen.country))
    ).all()
    bcps: Sequence[tuple[str, int]] = []
    if country:
        bcps = session.exec(
            select(Specimen.bcp_name, func.count())
            .where(Specimen.country == country.upper())
            .group_by(col(Specimen.bcp_name))
            .order_by(col(Specimen.bcp_name))
        ).all()
    rows, total = catalogue.list_specimens(session, _filter(**filters), limit=200)
    context = {
        "nav": "library",
        "countries": [(code, _country_name(code), count) for code, count in counts],
        "bcps": bcps,
        "filters": filters,
        "specimens": rows,
        "total": total,
        **_choices(),
    }
    return templates.TemplateResponse(request, "pages/library.html", context)


@router.get("/library/table", response_class=HTMLResponse)
def library_table(request: Request, session: SessionDep, principal: OfficerDep) -> Response:
    """The specimen table alone, for htmx to swap in as filters change."""
    params = {key: request.query_params.get(key) for key in ("country", "bcp", "direction")}
    params |= {key: request.query_params.get(key) for key in ("mode", "status", "q")}
    rows, total = catalogue.list_specimens(session, _filter(**params), limit=200)
    context = {"specimens": rows, "total": total}
    return templates.TemplateResponse(request, "partials/specimen_table.html", context)


@router.get("/specimens/{specimen_id}", response_class=HTMLResponse)
def specimen_page(
    request: Request,
    specimen_id: Identifier,
    session: SessionDep,
    services: ServicesDep,
    principal: OfficerDep,
) -> Response:
    specimen = catalogue.get_specimen(session, specimen_id)
    services.audit(principal.username, "specimen.view", f"specimen:{specimen_id}")
    context = {
        "nav": "library",
        "specimen": specimen,
        "images": catalogue.images_of(session, specimen_id),
        "history": catalogue.history_of(session, specimen_id),
        "fields": [(label, getattr(specimen, name)) for label, name in FIELDS],
    }
    return templates.TemplateResponse(request, "pages/specimen.html", context)


def _form_page(
    request: Request,
    *,
    specimen: Specimen | None,
    values: dict[str, Any],
    errors: list[str],
    code: int = status.HTTP_200_OK,
) -> Response:
    action = f"/specimens/{specimen.id}/edit" if specimen else "/library/new"
    context = {
        "nav": "library",
        "specimen": specimen,
        "values": values,
        "errors": errors,
        "action": action,
        **_choices(),
    }
    return templates.TemplateResponse(
        request, "pages/specimen_form.html", context, status_code=code
    )


def _problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()]


@router.get("/library/new", response_class=HTMLResponse)
def new_specimen_page(request: Request, principal: LibrarianDep) -> Response:
    return _form_page(request, specimen=None, values={}, errors=[])


async def _form_values(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {name: str(form.get(name) or "").strip() or None for name in (*FORM_FIELDS, "status")}


@router.post("/library/new", response_class=HTMLResponse)
async def create_specimen_page(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    principal: LibrarianDep,
    image: Annotated[UploadFile, File()],
) -> Response:
    actor = principal.username
    values = await _form_values(request)
    values.pop("status")
    try:
        fields = SpecimenCreate.model_validate(values)
        check_country(principal, fields.country)
        data = await read_upload(image, services.settings.uploads.max_bytes)
        indexer = await run_in_threadpool(lambda: services.indexer)
        specimen = await run_in_threadpool(
            lambda: add_specimen(
                session,
                services.store,
                fields,
                data,
                actor=actor,
                limits=services.image_limits,
                indexer=indexer,
            )
        )
    except ValidationError as exc:
        return _form_page(request, specimen=None, values=values, errors=_problems(exc), code=422)
    except (BadImageError, DuplicateImageError, ValueError) as exc:
        return _form_page(request, specimen=None, values=values, errors=[str(exc)], code=422)
    await run_in_threadpool(services.catalogue_changed)
    services.audit(actor, "specimen.create", f"specimen:{specimen.id}", country=specimen.country)
    return RedirectResponse(f"/specimens/{specimen.id}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/specimens/{specimen_id}/edit", response_class=HTMLResponse)
def edit_specimen_page(
    request: Request, specimen_id: Identifier, session: SessionDep, principal: LibrarianDep
) -> Response:
    specimen = catalogue.get_specimen(session, specimen_id)
    check_country(principal, specimen.country)
    values = {name: getattr(specimen, name) for name in (*FORM_FIELDS, "status")}
    return _form_page(request, specimen=specimen, values=values, errors=[])


@router.post("/specimens/{specimen_id}/edit", response_class=HTMLResponse)
async def save_specimen_page(
    request: Request,
    specimen_id: Identifier,
    services: ServicesDep,
    session: SessionDep,
    principal: LibrarianDep,
) -> Response:
    specimen = catalogue.get_specimen(session, specimen_id)
    check_country(principal, specimen.country)
    values = await _form_values(request)
    # an emptied optional field clears it; a required one left out of the form stays as it is
    change_values = {k: v for k, v in values.items() if v is not None or k not in REQUIRED}
    try:
        change = SpecimenUpdate.model_validate(change_values)
        check_country(principal, change.country or specimen.country)
        catalogue.update_specimen(session, specimen, change, principal.username)
    except ValidationError as exc:
        return _form_page(
            request, specimen=specimen, values=values, errors=_problems(exc), code=422
        )
    except ValueError as exc:
        return _form_page(request, specimen=specimen, values=values, errors=[str(exc)], code=422)
    services.catalogue_changed()
    services.audit(principal.username, "specimen.update", f"specimen:{specimen_id}")
    return RedirectResponse(f"/specimens/{specimen_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/specimens/{specimen_id}/withdraw")
def withdraw_specimen_page(
    specimen_id: Identifier, services: ServicesDep, session: SessionDep, principal: LibrarianDep
) -> Response:
    specimen = catalogue.get_specimen(session, specimen_id)
    check_country(principal, specimen.country)
    catalogue.withdraw_specimen(session, specimen, principal.username)
    services.catalogue_changed()
    services.audit(principal.username, "specimen.withdraw", f"specimen:{specimen_id}")
    return RedirectResponse(f"/specimens/{specimen_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/library/ingest", response_class=HTMLResponse)
def ingest_page(request: Request, principal: LibrarianDep) -> Response:
    return templates.TemplateResponse(request, "pages/ingest.html", {"nav": "ingest", "job": None})


@router.post("/library/ingest", response_class=HTMLResponse)
async def ingest_upload(
    request: Request,
    services: ServicesDep,
    principal: LibrarianDep,
    background: BackgroundTasks,
    bundle: Annotated[UploadFile, File()],
) -> Response:
    job = await start_ingest(services, principal, background, bundle)
    return templates.TemplateResponse(
        request, "partials/job.html", {"job": job}, background=background
    )


@router.get("/library/jobs/{job_id}", response_class=HTMLResponse)
def job_progress(
    request: Request, job_id: Identifier, services: ServicesDep, principal: LibrarianDep
) -> Response:
    job = get_job(services.engine, job_id)
    return templates.TemplateResponse(request, "partials/job.html", {"job": job})
