"""Checks for the case file: save a search (and comparison), read it, get its PDF report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from app.auth.users import Principal
from app.checks import CheckNotFoundError, get_check, save_check
from app.core.models import Check, Role, Specimen
from app.deps import Identifier, OfficerDep, ServicesDep, SessionDep, require
from app.pages import templates
from app.queries import QueryNotFoundError
from app.report import render_check

router = APIRouter(prefix="/checks", tags=["checks"], dependencies=[Depends(require(Role.OFFICER))])
pages = APIRouter(include_in_schema=False)


class CheckCreate(BaseModel):
    query_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    comparison_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    specimen_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    note: str = Field(default="", max_length=2000)


class CheckPublic(BaseModel):
    id: int
    created_by: str
    created_at: dt.datetime
    query_id: str
    query_kept: bool
    decision: str
    confidence: float
    outline: list[list[float]] | None = None  # where the first match lay on the photo
    caveats: list[str] = []  # what the officer was told to act on about the first match
    matches: list[dict[str, Any]]
    comparison: dict[str, Any] | None
    note: str
    report_url: str


def _public(check: Check) -> CheckPublic:
    return CheckPublic(
        **check.model_dump(exclude={"crop"}), report_url=f"/api/v1/checks/{check.id}/report.pdf"
    )


def _readable(check: Check, principal: Principal) -> Check:
    if principal.role is not Role.ADMIN and check.created_by != principal.username:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"check {check.id} does not exist")
    return check


def _save(
    session: SessionDep, services: ServicesDep, principal: Principal, body: CheckCreate
) -> Check:
    try:
        check = save_check(
            session,
            services.store,
            actor=principal.username,
            query_id=body.query_id,
            comparison_id=body.comparison_id,
            specimen_id=body.specimen_id,
            note=body.note,
        )
    except (QueryNotFoundError, CheckNotFoundError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    services.audit(principal.username, "check.save", f"check:{check.id}", decision=check.decision)
    return check


@router.post("", status_code=status.HTTP_201_CREATED)
def create_check(
    body: CheckCreate, session: SessionDep, services: ServicesDep, principal: OfficerDep
) -> CheckPublic:
    return _public(_save(session, services, principal, body))


@router.get("")
def list_checks(session: SessionDep, principal: OfficerDep) -> list[CheckPublic]:
    query = select(Check).order_by(col(Check.id).desc()).limit(200)
    if principal.role is not Role.ADMIN:
        query = query.where(Check.created_by == principal.username)
    return [_public(check) for check in session.exec(query)]


@router.get("/{check_id}")
def read_check(check_id: Identifier, session: SessionDep, principal: OfficerDep) -> CheckPublic:
    try:
        return _public(_readable(get_check(session, check_id), principal))
    except CheckNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get("/{check_id}/report.pdf", response_class=Response)
async def check_report(
    check_id: Identifier, session: SessionDep, services: ServicesDep, principal: OfficerDep
) -> Response:
    try:
        check = _readable(get_check(session, check_id), principal)
    except CheckNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    ids = [int(m["specimen_id"]) for m in check.matches[:1]]
    if check.comparison and check.comparison.get("specimen_id") is not None:
        ids.append(int(check.comparison["specimen_id"]))  # its catalogued size is reported
    specimens = {
        s.id: s for s in session.exec(select(Specimen).where(col(Specimen.id).in_(ids))).all()
    }
    pdf = await run_in_threadpool(render_check, check, services.store, specimens)  # type: ignore[arg-type]
    services.audit(principal.username, "check.export", f"check:{check_id}")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="stamplib-check-{check_id}.pdf"'},
    )


@pages.post("/checks", response_class=HTMLResponse)
async def save_check_page(
    request: Request, session: SessionDep, services: ServicesDep, principal: OfficerDep
) -> Response:
    form = await request.form()
    body = CheckCreate(
        query_id=str(form.get("query_id", "")),
        comparison_id=str(form.get("comparison_id") or "") or None,
        specimen_id=int(str(form.get("specimen_id"))) if form.get("specimen_id") else None,
    )
    check = _save(session, services, principal, body)
    return templates.TemplateResponse(request, "partials/check_saved.html", {"check": check})
