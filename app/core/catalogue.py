"""Catalogue queries and changes that keep a specimen's history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.core.models import (
    CatalogueChange,
    Direction,
    Mode,
    Specimen,
    SpecimenEvent,
    SpecimenImage,
    SpecimenPublic,
    SpecimenUpdate,
    Status,
    check_validity_period,
    utcnow,
)


class SpecimenNotFoundError(LookupError):
    pass


@dataclass(frozen=True, kw_only=True)
class SpecimenFilter:
    country: str | None = None
    bcp: str | None = None
    direction: Direction | None = None
    mode: Mode | None = None
    status: Status | None = None
    valid_on: dt.date | None = None
    text: str | None = None
    searchable: bool = False  # only specimens search may return (not withdrawn)


def apply_filter(query: Any, spec: SpecimenFilter) -> Any:
    """Restrict a select over Specimen to what `spec` asks for."""
    if spec.searchable:
        query = query.where(Specimen.status != Status.WITHDRAWN)
    if spec.country:
        query = query.where(Specimen.country == spec.country.upper())
    if spec.bcp:
        query = query.where(
            or_(
                col(Specimen.bcp_code) == spec.bcp,
                func.lower(Specimen.bcp_name) == spec.bcp.lower(),
            )
        )
    if spec.direction:
        query = query.where(Specimen.direction == spec.direction)
    if spec.mode:
        query = query.where(Specimen.mode == spec.mode)
    if spec.status:
        query = query.where(Specimen.status == spec.status)
    if spec.valid_on:
        query = query.where(
            or_(col(Specimen.valid_from).is_(None), col(Specimen.valid_from) <= spec.valid_on),
            or_(col(Specimen.valid_to).is_(None), col(Specimen.valid_to) >= spec.valid_on),
        )
    if spec.text:
        pattern = f"%{spec.text.lower()}%"
        query = query.where(
            or_(
                func.lower(Specimen.bcp_name).like(pattern),
                func.lower(func.coalesce(Specimen.bcp_code, "")).like(pattern),
                func.lower(func.coalesce(Specimen.notes, "")).like(pattern),
                func.lower(func.coalesce(Specimen.security_code, "")).like(pattern),
            )
        )
    return query


def list_specimens(
    session: Session, spec: SpecimenFilter, *, offset: int = 0, limit: int = 50
) -> tuple[list[Specimen], int]:
    total = session.exec(apply_filter(select(func.count()).select_from(Specimen), spec)).one()
    rows = session.exec(
        apply_filter(select(Specimen), spec)
        .order_by(Specimen.country, Specimen.bcp_name, Specimen.direction, col(Specimen.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)


def get_specimen(session: Session, specimen_id: int) -> Specimen:
    specimen = session.get(Specimen, specimen_id)
    if specimen is None:
        raise SpecimenNotFoundError(f"specimen {specimen_id} does not exist")
    return specimen


def images_of(session: Session, specimen_id: int) -> list[SpecimenImage]:
    query = (
        select(SpecimenImage)
        .where(SpecimenImage.specimen_id == specimen_id)
        .order_by(col(SpecimenImage.position))
    )
    return list(session.exec(query).all())


def history_of(session: Session, specimen_id: int) -> list[SpecimenEvent]:
    query = (
        select(SpecimenEvent)
        .where(SpecimenEvent.specimen_id == specimen_id)
        .order_by(col(SpecimenEvent.at), col(SpecimenEvent.id))
    )
    return list(session.exec(query).all())


def to_public(session: Session, specimen: Specimen) -> SpecimenPublic:
    count = session.exec(
        select(func.count())
        .select_from(SpecimenImage)
        .where(SpecimenImage.specimen_id == specimen.id)
    ).one()
    return SpecimenPublic.model_validate(specimen, update={"image_count": int(count)})


def record_event(
    session: Session, specimen_id: int, action: str, actor: str, changes: dict[str, Any]
) -> None:
    session.add(SpecimenEvent(specimen_id=specimen_id, action=action, actor=actor, changes=changes))
    note_change(session, specimen_id)


def note_change(session: Session, specimen_id: int) -> None:
    """Tell every search process, in this transaction, that this specimen changed."""
    session.add(CatalogueChange(specimen_id=specimen_id))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def update_specimen(
    session: Session, specimen: Specimen, change: SpecimenUpdate, actor: str
) -> Specimen:
    """Apply the fields set in `change`; record old and new values in the history."""
    fields = change.model_dump(exclude_unset=True)
    for required in ("country", "bcp_name", "direction", "mode", "shape", "status"):
        if required in fields and fields[required] is None:
            raise ValueError(f"{required} cannot be cleared")
    check_validity_period(
        fields.get("valid_from", specimen.valid_from), fields.get("valid_to", specimen.valid_to)
    )
    diff = {
        name: {"from": _jsonable(getattr(specimen, name)), "to": _jsonable(value)}
        for name, value in fields.items()
        if getattr(specimen, name) != value
    }
    if not diff:
        return specimen
    for name, value in fields.items():
        setattr(specimen, name, value)
    specimen.updated_by = actor
    specimen.updated_at = utcnow()
    session.add(specimen)
    assert specimen.id is not None
    action = "withdrawn" if diff.get("status", {}).get("to") == Status.WITHDRAWN else "updated"
    record_event(session, specimen.id, action, actor, diff)
    session.commit()
    session.refresh(specimen)
    return specimen


def withdraw_specimen(session: Session, specimen: Specimen, actor: str) -> Specimen:
    """Withdrawal keeps the record and its images; it only leaves active search."""
    return update_specimen(session, specimen, SpecimenUpdate(status=Status.WITHDRAWN), actor)
