"""Administration: users, API tokens and the audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from app.auth.audit import verify_chain
from app.auth.users import create_token, create_user, revoke_token
from app.core.models import ApiToken, AuditRecord, Role, UserAccount
from app.deps import AdminDep, Identifier, OfficerDep, ServicesDep, SessionDep
from app.pages import templates

router = APIRouter(tags=["administration"])
pages = APIRouter(include_in_schema=False)


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")
    role: Role
    countries: list[str] = Field(default_factory=list, max_length=50)


class UserPublic(BaseModel):
    id: int
    username: str
    role: Role
    countries: list[str]
    active: bool


class UserCreated(UserPublic):
    password: str  # shown once


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str
    user_id: int
    revoked: bool


class TokenCreated(TokenPublic):
    token: str  # shown once


def _user(user: UserAccount) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


def _token(row: ApiToken) -> TokenPublic:
    assert row.id is not None
    return TokenPublic(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        user_id=row.user_id,
        revoked=row.revoked_at is not None,
    )


@router.get("/users")
def list_users(session: SessionDep, principal: AdminDep) -> list[UserPublic]:
    return [_user(u) for u in session.exec(select(UserAccount).order_by(col(UserAccount.id)))]


@router.post("/users", status_code=status.HTTP_201_CREATED)
def add_user(
    body: UserCreate, session: SessionDep, services: ServicesDep, principal: AdminDep
) -> UserCreated:
    try:
        user, password = create_user(session, body.username, body.role, body.countries)
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    services.audit(principal.username, "user.add", f"user:{user.username}", role=user.role.value)
    return UserCreated(**_user(user).model_dump(), password=password)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def add_token(
    body: TokenCreate, session: SessionDep, services: ServicesDep, principal: OfficerDep
) -> TokenCreated:
    """An API token for the caller, for a system that calls StampLib on their behalf."""
    user = session.get(UserAccount, principal.id)
    assert user is not None
    row, token = create_token(session, user, body.name)
    services.audit(principal.username, "token.create", f"token:{row.id}", name=body.name)
    return TokenCreated(**_token(row).model_dump(), token=token)


@router.get("/tokens")
def list_tokens(session: SessionDep, principal: OfficerDep) -> list[TokenPublic]:
    query = select(ApiToken).order_by(col(ApiToken.id))
    if principal.role is not Role.ADMIN:
        query = query.where(ApiToken.user_id == principal.id)
    return [_token(row) for row in session.exec(query)]


@router.delete("/tokens/{token_id}")
def delete_token(
    token_id: Identifier, session: SessionDep, services: ServicesDep, principal: OfficerDep
) -> TokenPublic:
    row = session.get(ApiToken, token_id)
    if row is None or (principal.role is not Role.ADMIN and row.user_id != principal.id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"API token {token_id} does not exist")
    revoked = revoke_token(session, token_id)
    services.audit(principal.username, "token.revoke", f"token:{token_id}")
    return _token(revoked)


@router.get("/audit")
def audit_records(
    session: SessionDep,
    principal: AdminDep,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, object]]:
    query = select(AuditRecord).order_by(col(AuditRecord.id).desc()).limit(limit)
    if actor:
        query = query.where(AuditRecord.actor == actor)
    if action:
        query = query.where(AuditRecord.action == action)
    return [r.model_dump(mode="json") for r in session.exec(query)]


@router.get("/audit/export")
def export_audit(services: ServicesDep, principal: AdminDep) -> Response:
    """The whole trail as JSON lines, oldest first (the export itself is audited)."""
    services.audit(principal.username, "audit.export")

    def lines() -> Iterator[str]:
        with Session(services.engine) as session:
            for record in session.exec(select(AuditRecord).order_by(col(AuditRecord.id))):
                yield json.dumps(record.model_dump(mode="json")) + "\n"

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="stamplib-audit.jsonl"'},
    )


@pages.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: SessionDep, principal: AdminDep) -> Response:
    records = session.exec(select(AuditRecord).order_by(col(AuditRecord.id).desc()).limit(500))
    total = session.exec(select(func.count()).select_from(AuditRecord)).one()
    context = {
        "nav": "audit",
        "records": list(records),
        "total": total,
        "problems": verify_chain(session),
    }
    return templates.TemplateResponse(request, "pages/audit.html", context)
