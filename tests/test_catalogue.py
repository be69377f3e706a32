"""Catalogue schema and queries, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from app.core import catalogue
from app.core.db import alembic_config, create_catalogue_engine, upgrade_schema
from app.core.models import Check, Direction, Mode, Specimen, SpecimenCreate, SpecimenUpdate, Status


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalogue.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return _sqlite(tmp_path)
    return str(request.getfixturevalue("fresh_pg_url"))


def _specimen(**fields: object) -> Specimen:
    values: dict[str, object] = {
        "country": "MYS",
        "bcp_name": "KLIA",
        "direction": Direction.ENTRY,
        "mode": Mode.AIR,
        "image_key": "images/aa/" + "a" * 64 + ".png",
        "image_sha256": "a" * 64,
        "image_width": 10,
        "image_height": 10,
        "created_by": "t",
        "updated_by": "t",
    }
    values.update(fields)
    return Specimen(**values)


def test_upgrade_head_from_empty_creates_every_table_and_is_idempotent(database_url: str) -> None:
    upgrade_schema(database_url)
    upgrade_schema(database_url)
    engine = create_catalogue_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"specimen", "specimen_image", "specimen_event", "alembic_version"} <= tables
    columns = {column["name"] for column in inspect(engine).get_columns("specimen")}
    assert {
        "country",
        "bcp_code",
        "bcp_name",
        "direction",
        "mode",
        "shape",
        "ink_colour",
        "width_mm",
        "height_mm",
        "security_code",
        "valid_from",
        "valid_to",
        "status",
        "notes",
        "image_key",
        "image_sha256",
        "image_width",
        "image_height",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    } <= columns


def test_a_check_saved_before_outlines_were_kept_survives_the_upgrade(database_url: str) -> None:
    """Revision 0006 adds where a check's answer lay on the photo, 0007 what the officer was
    told to act on; older checks keep all they had, no outline and no caveats; the
    downgrade drops the columns again."""
    upgrade_schema(database_url, "0005")
    engine = create_catalogue_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO check_record (created_by, created_at, query_id, query_kept, decision,"
                " confidence, crop, matches, note) VALUES ('officer', '2026-11-20 10:00:00',"
                " 'q1', true, 'match', 0.9, '[1, 2, 3, 4]', '[]', 'kept')"
            )
        )
    engine.dispose()
    upgrade_schema(database_url)
    engine = create_catalogue_engine(database_url)
    with Session(engine) as session:
        (check,) = session.exec(select(Check)).all()
        assert (check.note, check.crop, check.outline) == ("kept", [1, 2, 3, 4], None)
        assert check.caveats == []
        check.outline = [[1.5, 2.0], [9.0, 2.0], [9.0, 8.5], [1.5, 8.5]]
        session.add(check)
        session.commit()
        session.refresh(check)
        assert check.outline[2] == [9.0, 8.5]
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0005")
    columns = {
        c["name"]
        for c in inspect(create_catalogue_engine(database_url)).get_columns("check_record")
    }
    assert "outline" not in columns and "caveats" not in columns and "note" in columns


def test_filters_find_by_country_direction_and_validity(database_url: str) -> None:
    upgrade_schema(database_url)
    engine = create_catalogue_engine(database_url)
    with Session(engine) as session:
        session.add(_specimen(valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2022, 12, 31)))
        session.add(
            _specimen(
                bcp_name="Johor Bahru",
                direction=Direction.EXIT,
                mode=Mode.LAND,
                image_sha256="b" * 64,
                valid_from=dt.date(2023, 1, 1),
            )
        )
        session.add(
            _specimen(
                country="THA",
                bcp_name="Suvarnabhumi",
                image_sha256="c" * 64,
                status=Status.WITHDRAWN,
            )
        )
        session.commit()

        def ids(**spec: object) -> list[str]:
            rows, _ = catalogue.list_specimens(session, catalogue.SpecimenFilter(**spec))  # type: ignore[arg-type]
            return [row.bcp_name for row in rows]

        assert ids(country="MYS") == ["Johor Bahru", "KLIA"]
        assert ids(direction=Direction.EXIT) == ["Johor Bahru"]
        assert ids(valid_on=dt.date(2021, 6, 1)) == ["KLIA", "Suvarnabhumi"]
        assert ids(valid_on=dt.date(2030, 1, 1)) == ["Johor Bahru", "Suvarnabhumi"]
        assert ids(status=Status.WITHDRAWN) == ["Suvarnabhumi"]
        assert ids(text="johor") == ["Johor Bahru"]
        assert ids(bcp="klia") == ["KLIA"]
        rows, total = catalogue.list_specimens(
            session, catalogue.SpecimenFilter(), offset=1, limit=1
        )
        assert total == 3 and len(rows) == 1


def test_update_records_history_and_refuses_inverted_period(database_url: str) -> None:
    upgrade_schema(database_url)
    with Session(create_catalogue_engine(database_url)) as session:
        specimen = _specimen()
        session.add(specimen)
        session.commit()
        catalogue.update_specimen(session, specimen, SpecimenUpdate(notes="new ink"), "alice")
        catalogue.withdraw_specimen(session, specimen, "bob")
        with pytest.raises(ValueError, match="after valid_to"):
            catalogue.update_specimen(
                session,
                specimen,
                SpecimenUpdate(valid_from=dt.date(2024, 1, 2), valid_to=dt.date(2024, 1, 1)),
                "eve",
            )
        assert specimen.id is not None
        history = catalogue.history_of(session, specimen.id)
        assert [(event.action, event.actor) for event in history] == [
            ("updated", "alice"),
            ("withdrawn", "bob"),
        ]
        assert history[0].changes == {"notes": {"from": None, "to": "new ink"}}
        assert catalogue.get_specimen(session, specimen.id).status == Status.WITHDRAWN


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "XYZ", "ISO 3166-1 alpha-3"),
        ("country", "MY", "ISO 3166-1 alpha-3"),
        ("direction", "sideways", "entry"),
        ("bcp_name", "   ", "blank"),
        ("valid_to", "2019-01-01", "after valid_to"),
    ],
)
def test_create_validation_names_the_problem(field: str, value: str, message: str) -> None:
    fields = {
        "country": "mys",
        "bcp_name": "KLIA",
        "direction": "entry",
        "valid_from": "2020-01-01",
    }
    fields[field] = value
    with pytest.raises(ValueError, match=message):
        SpecimenCreate.model_validate(fields)


def test_country_is_normalised_to_upper_case() -> None:
    assert SpecimenCreate(country="tha", bcp_name="BKK", direction=Direction.EXIT).country == "THA"
