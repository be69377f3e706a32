"""Checks: a search (and maybe a comparison) kept for the case file, and their retention."""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from app.comparisons import ComparisonNotFoundError, comparison_result
from app.core.models import Check
from app.core.storage import ObjectStore
from app.queries import purge_expired, query_result

log = logging.getLogger(__name__)


class CheckNotFoundError(LookupError):
    pass


def save_check(
    session: Session,
    store: ObjectStore,
    *,
    actor: str,
    query_id: str,
    comparison_id: str | None = None,
    specimen_id: int | None = None,
    note: str = "",
) -> Check:
    """A check from a kept search (and the comparison the officer made of it)."""
    result = query_result(store, query_id)
    comparison = None
    if comparison_id:
        try:
            comparison = {**comparison_result(store, comparison_id), "specimen_id": specimen_id}
        except ComparisonNotFoundError as exc:
            raise CheckNotFoundError(str(exc)) from exc
    check = Check(
        created_by=actor,
        query_id=query_id,
        decision=str(result["decision"]),
        confidence=float(result.get("confidence", 0.0)),
        crop=list(result.get("crop", [])),
        outline=result.get("outline"),
        caveats=list(result.get("caveats", [])),
        matches=list(result.get("matches", [])),
        comparison=comparison,
        note=note,
    )
    session.add(check)
    session.commit()
    session.refresh(check)
    return check


def get_check(session: Session, check_id: int) -> Check:
    check = session.get(Check, check_id)
    if check is None:
        raise CheckNotFoundError(f"check {check_id} does not exist")
    return check


def apply_retention(session: Session, store: ObjectStore, retention_days: float) -> int:
    """Delete query photos past the retention period; their checks keep only the results."""
    gone = purge_expired(store, retention_days)
    if gone:
        for check in session.exec(select(Check).where(col(Check.query_id).in_(gone))).all():
            check.query_kept = False
            session.add(check)
        session.commit()
        log.info("retention: %d query photos older than %s days deleted", len(gone), retention_days)
    return len(gone)
