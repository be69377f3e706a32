"""The catalogue: specimens, their images and their history, as SQLModel families."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import pycountry
import sqlalchemy as sa
from pydantic import field_validator, model_validator
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class Direction(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class Mode(StrEnum):
    AIR = "air"
    LAND = "land"
    SEA = "sea"
    RAIL = "rail"


class Shape(StrEnum):
    RECTANGLE = "rectangle"
    ROUNDED_RECTANGLE = "rounded_rectangle"
    CIRCLE = "circle"
    OVAL = "oval"
    TRIANGLE = "triangle"
    OCTAGON = "octagon"
    OTHER = "other"


class Status(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


def stored_enum(enum_cls: type[StrEnum]) -> sa.Enum:
    """Store an enum by value in a plain string column (no database enum types to migrate)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda members: [m.value for m in members],
    )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalise_country(value: str) -> str:
    """Return the ISO 3166-1 alpha-3 code for `value`, or raise ValueError."""
    code = value.strip().upper()
    if len(code) != 3 or pycountry.countries.get(alpha_3=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-3 country code (e.g. MYS, THA)")
    return code


def check_validity_period(valid_from: dt.date | None, valid_to: dt.date | None) -> None:
    if valid_from and valid_to and valid_from > valid_to:
        raise ValueError(f"valid_from {valid_from} is after valid_to {valid_to}")


class SpecimenFields(SQLModel):
    """Descriptive fields a librarian edits; shared by create, update and the table."""

    bcp_code: str | None = Field(default=None, max_length=32)
    shape: Shape = Field(default=Shape.OTHER, sa_type=stored_enum(Shape))
    ink_colour: str | None = Field(default=None, max_length=32)
    width_mm: float | None = Field(default=None, gt=0, le=300)
    height_mm: float | None = Field(default=None, gt=0, le=300)
    security_code: str | None = Field(default=None, max_length=64)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    status: Status = Field(default=Status.ACTIVE, index=True, sa_type=stored_enum(Status))
    notes: str | None = Field(default=None, max_length=4000)


class SpecimenBase(SpecimenFields):
    country: str = Field(index=True, min_length=3, max_length=3)
    bcp_name: str = Field(index=True, min_length=1, max_length=200)
    direction: Direction = Field(index=True, sa_type=stored_enum(Direction))
    mode: Mode = Field(default=Mode.AIR, index=True, sa_type=stored_enum(Mode))


class SpecimenCreate(SpecimenBase):
    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: Any) -> Any:
        return normalise_country(value) if isinstance(value, str) else value

    @field_validator("bcp_name")
    @classmethod
    def _bcp_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("bcp_name must not be blank")
        return value.strip()

    @model_validator(mode="after")
    def _period(self) -> SpecimenCreate:
        check_validity_period(self.valid_from, self.valid_to)
        return self


class SpecimenUpdate(SQLModel):
    """A partial change; unset fields stay as they are."""

    country: str | None = Field(default=None, min_length=3, max_length=3)
    bcp_name: str | None = Field(default=None, min_length=1, max_length=200)
    direction: Direction | None = None
    mode: Mode | None = None
    bcp_code: str | None = Field(default=None, max_length=32)
    shape: Shape | None = None
    ink_colour: str | None = Field(default=None, max_length=32)
    width_mm: float | None = Field(default=None, gt=0, le=300)
    height_mm: float | None = Field(default=None, gt=0, le=300)
    security_code: str | None = Field(default=None, max_length=64)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    status: Status | None = None
    notes: str | None = Field(default=None, max_length=4000)

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: Any) -> Any:
        return normalise_country(value) if isinstance(value, str) else value


class Specimen(SpecimenBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    image_key: str = Field(max_length=200)
    image_sha256: str = Field(min_length=64, max_length=64)
    image_width: int
    image_height: int
    created_by: str = Field(max_length=100)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_by: str = Field(max_length=100)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    ingest_job_id: int | None = Field(default=None, index=True)  # the bulk load that brought it


class SpecimenPublic(SpecimenBase):
    id: int
    image_sha256: str
    image_width: int
    image_height: int
    image_count: int = 1
    created_by: str
    created_at: dt.datetime
    updated_by: str
    updated_at: dt.datetime


class SpecimenPage(SQLModel):
    items: list[SpecimenPublic]
    total: int
    offset: int
    limit: int


class ImageKind(StrEnum):
    FRONT = "front"
    DETAIL = "detail"
    UV = "uv"
    OTHER = "other"


class SpecimenImage(SQLModel, table=True):
    """One image of a specimen; position 0 is the primary image mirrored on the specimen."""

    __tablename__ = "specimen_image"
    __table_args__ = (UniqueConstraint("specimen_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    specimen_id: int = Field(foreign_key="specimen.id", index=True)
    position: int = Field(ge=0)
    kind: ImageKind = Field(default=ImageKind.FRONT, sa_type=stored_enum(ImageKind))
    object_key: str = Field(max_length=200)
    sha256: str = Field(index=True, unique=True, min_length=64, max_length=64)
    content_type: str = Field(max_length=64)
    byte_size: int
    width: int
    height: int
    created_by: str = Field(max_length=100)
    normalised_key: str | None = Field(default=None, max_length=200)  # cropped, deskewed
    thumbnail_key: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow)


class SpecimenImagePublic(SQLModel):
    position: int
    kind: ImageKind
    sha256: str
    content_type: str
    byte_size: int
    width: int
    height: int
    created_at: dt.datetime


class SpecimenEvent(SQLModel, table=True):
    """The history of a specimen: who changed what, when. Rows are only ever added."""

    __tablename__ = "specimen_event"

    id: int | None = Field(default=None, primary_key=True)
    specimen_id: int = Field(foreign_key="specimen.id", index=True)
    action: str = Field(max_length=32)
    actor: str = Field(max_length=100)
    at: dt.datetime = Field(default_factory=utcnow)
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SpecimenEventPublic(SQLModel):
    action: str
    actor: str
    at: dt.datetime
    changes: dict[str, Any]


class SpecimenVectors(SQLModel, table=True):
    """What search needs of a specimen, kept so that an index rebuilds without the images."""

    __tablename__ = "specimen_vectors"

    specimen_id: int = Field(foreign_key="specimen.id", primary_key=True)
    model_id: str = Field(max_length=120, index=True)
    embedding: bytes = Field(sa_column=Column(sa.LargeBinary, nullable=False))
    features: bytes = Field(sa_column=Column(sa.LargeBinary, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow)


class CatalogueChange(SQLModel, table=True):
    """One row per change that search must follow: every search process replays these rows
    (after the position its index file records) to stay in step with the catalogue."""

    __tablename__ = "catalogue_change"

    seq: int | None = Field(default=None, primary_key=True)
    specimen_id: int = Field(index=True)
    at: dt.datetime = Field(default_factory=utcnow)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"
    DONE = "done"


class IngestJob(SQLModel, table=True):
    """A bulk ingestion: what it reads, how far it got, and every row it could not take."""

    __tablename__ = "ingest_job"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=500)
    object_key: str | None = Field(default=None, max_length=200)  # an uploaded bundle
    # the countries whose rows this job may load (its librarian's); empty: every country
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: JobStatus = Field(default=JobStatus.QUEUED, sa_type=stored_enum(JobStatus))
    rows: int = 0
    processed: int = 0
    added: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    flagged: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    message: str = Field(default="", max_length=2000)
    created_by: str = Field(max_length=100)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class IngestJobPublic(SQLModel):
    id: int
    source: str
    status: JobStatus
    rows: int
    processed: int
    added: int
    unchanged: int
    errors: list[dict[str, Any]]
    flagged: list[dict[str, Any]]
    message: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class Role(StrEnum):
    OFFICER = "officer"  # search, view, compare, reports
    LIBRARIAN = "librarian"  # and curate the specimens of their countries
    ADMIN = "admin"  # and users, every country, the audit trail


class UserAccount(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True, index=True)
    password_hash: str = Field(max_length=200)
    role: Role = Field(sa_type=stored_enum(Role))
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    failed_logins: int = 0
    locked_until: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """A token for system-to-system clients: shown once, stored as its sha256, revocable."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=12)
    created_at: dt.datetime = Field(default_factory=utcnow)
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None


class AuditRecord(SQLModel, table=True):
    """Append-only, hash-chained: each record's hash covers its content and the previous hash,
    so an edited or deleted record breaks the chain (`stamplib audit verify`)."""

    __tablename__ = "audit_record"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=100, index=True)
    action: str = Field(max_length=40, index=True)
    target: str = Field(default="", max_length=200)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Check(SQLModel, table=True):
    """A search (and maybe a comparison) an officer keeps for the case file."""

    __tablename__ = "check_record"

    id: int | None = Field(default=None, primary_key=True)
    created_by: str = Field(max_length=100, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    query_id: str = Field(max_length=32, index=True)
    query_kept: bool = True  # false once the photo passed its retention period
    decision: str = Field(max_length=16)
    confidence: float = 0.0
    crop: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # where the first match's specimen lay on the photo (4 corners), when it was verified
    outline: list[list[float]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # what the officer was told to act on about the first match (app.search: caveats)
    caveats: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    matches: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    comparison: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    note: str = Field(default="", max_length=2000)
