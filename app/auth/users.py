"""Users, passwords (argon2) with lock-out, and API tokens (shown once, stored hashed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from app.core.models import ApiToken, Role, UserAccount, normalise_country, utcnow

MAX_FAILED_LOGINS = 10
LOCK_FOR = dt.timedelta(minutes=15)
TOKEN_PREFIX = "slt_"  # noqa: S105 - marks StampLib tokens in logs; not a secret
_HASHER = PasswordHasher()
# verifying against this keeps the time of "no such user" like that of "wrong password"
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class LoginError(Exception):
    """Wrong user name or password, or a locked or disabled account (the message says which
    only as far as it is safe to say)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    id: int
    username: str
    role: Role
    countries: tuple[str, ...]
    via_token: bool = False

    def may_curate(self, country: str) -> bool:
        if self.role is Role.ADMIN:
            return True
        return self.role is Role.LIBRARIAN and country.upper() in self.countries

    @classmethod
    def of(cls, user: UserAccount, *, via_token: bool = False) -> Principal:
        assert user.id is not None
        return cls(user.id, user.username, user.role, tuple(user.countries), via_token)


def create_user(
    session: Session, username: str, role: Role, countries: list[str], password: str | None = None
) -> tuple[UserAccount, str]:
    """A new user and their password (generated unless given), to be shown once."""
    if session.exec(select(UserAccount).where(UserAccount.username == username)).first():
        raise ValueError(f"user {username!r} already exists")
    if role is Role.LIBRARIAN and not countries:
        raise ValueError("a librarian needs at least one country (--country)")
    password = password or secrets.token_urlsafe(12)
    user = UserAccount(
        username=username,
        password_hash=_HASHER.hash(password),
        role=role,
        countries=sorted({normalise_country(c) for c in countries}),
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user, password


def authenticate(session: Session, username: str, password: str) -> UserAccount:
    """The user, if the password is right and the account usable; counts failures."""
    user = session.exec(select(UserAccount).where(UserAccount.username == username)).first()
    if user is None:
        _verify(_DUMMY_HASH, password)
        raise LoginError("wrong user name or password")
    now = utcnow()
    locked_until = _aware(user.locked_until)
    if locked_until and locked_until > now:
        raise LoginError(
            f"too many failed sign-ins: the account is locked until {locked_until:%H:%M} UTC"
        )
    if not user.active or not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + LOCK_FOR, 0
        session.add(user)
        session.commit()
        raise LoginError("wrong user name or password")
    user.failed_logins, user.locked_until = 0, None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    session.add(user)
    session.commit()
    return user


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: UserAccount, name: str) -> tuple[ApiToken, str]:
    """A new API token for the user; the clear token is returned once and never stored."""
    assert user.id is not None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=token_digest(token), prefix=token[:10])
    session.add(row)
    session.commit()
    session.refresh(row)
    return row, token


def user_of_token(session: Session, token: str) -> UserAccount | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(UserAccount, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = utcnow()
    session.add(row)
    session.commit()
    return user


def revoke_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise LookupError(f"API token {token_id} does not exist")
    row.revoked_at = row.revoked_at or utcnow()
    session.add(row)
    session.commit()
    return row
