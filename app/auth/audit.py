"""The audit trail: append-only records, each hash covering its content and the previous
record's hash. Editing or deleting any record breaks the chain from there on."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.core.models import AuditRecord, utcnow

GENESIS = "0" * 64
_LOCAL = threading.Lock()  # one writer at a time in this process; PostgreSQL locks across


def record_hash(record: AuditRecord) -> str:
    content = {
        "id": record.id,
        "at": _utc_text(record.at),
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "details": record.details,
        "prev": record.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def audit(engine: Engine, actor: str, action: str, target: str = "", **details: Any) -> AuditRecord:
    """Append one record (its own transaction, so a failed request is still audited)."""
    with _LOCAL, Session(engine) as session:
        if engine.dialect.name == "postgresql":  # one writer at a time across processes
            session.connection().exec_driver_sql("SELECT pg_advisory_xact_lock(727)")
        last = session.exec(select(AuditRecord).order_by(col(AuditRecord.id).desc())).first()
        record = AuditRecord(
            actor=actor[:100],
            action=action[:40],
            target=target[:200],
            details=details,
            prev_hash=last.hash if last else GENESIS,
            hash="",
            at=utcnow(),
        )
        session.add(record)
        session.flush()
        record.hash = record_hash(record)
        session.add(record)
        session.commit()
        session.refresh(record)
        return record


def _utc_text(moment: dt.datetime) -> str:
    """The same text for a time however the database hands it back (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def verify_chain(session: Session) -> list[str]:
    """Every break in the chain: an edited record, a deleted one, or a reordering."""
    problems = []
    expected_prev = GENESIS
    previous_id = 0
    for record in session.exec(select(AuditRecord).order_by(col(AuditRecord.id))).all():
        assert record.id is not None
        if record.id != previous_id + 1:
            problems.append(f"records {previous_id + 1}..{record.id - 1} are missing (deleted)")
        if record.prev_hash != expected_prev:
            problems.append(f"record {record.id} does not follow record {previous_id}")
        if record_hash(record) != record.hash:
            problems.append(f"record {record.id} was changed after it was written")
        expected_prev, previous_id = record.hash, record.id
    return problems
