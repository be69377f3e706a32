"""The demo: synthetic specimens ingested once into the embedded library, and sample photos."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from sqlmodel import func, select

from app.core.db import session_scope
from app.core.models import Specimen
from app.services import Services
from ingestion.bulk import ingest_manifest
from vision.imageio import encode_jpeg
from vision.synth.export import write_manifest
from vision.synth.world import SyntheticWorld

log = logging.getLogger(__name__)
DEMO_SEED = 42


def ensure_demo_library(services: Services, *, specimens: int = 150) -> Path:
    """Fill an empty library with synthetic specimens (once) and write sample photos to search."""
    samples = services.settings.data_dir / "samples"
    marker = samples / "samples.json"
    with session_scope(services.engine) as session:
        count = session.exec(select(func.count()).select_from(Specimen)).one()
    world = SyntheticWorld(seed=DEMO_SEED, specimens=specimens)
    if count == 0:
        with tempfile.TemporaryDirectory() as folder:
            manifest = write_manifest(world, Path(folder))
            with session_scope(services.engine) as session:
                report = ingest_manifest(
                    session, services.store, manifest, actor="demo", indexer=services.indexer
                )
        services.catalogue_changed()
        services.search.save()
        log.info("demo library: %d synthetic specimens ingested", len(report.added))
    if not marker.is_file():
        _write_samples(world, samples)
    return samples


def _write_samples(world: SyntheticWorld, samples: Path) -> None:
    samples.mkdir(parents=True, exist_ok=True)
    described = []
    for split, count in (("phone", 6), ("hard", 3), ("scan", 2)):
        for index in range(count):
            query = world.query(split, index)
            name = f"{split}-{index}.jpg"
            (samples / name).write_bytes(encode_jpeg(query.photo.rgb, quality=92))
            described.append(
                {
                    "file": name,
                    "split": split,
                    "bcp_name": query.design.bcp_name,
                    "country": query.design.country.code,
                    "direction": query.design.direction,
                }
            )
    for index in range(3):
        query = world.unknown_query(index)
        name = f"unknown-{index}.jpg"
        (samples / name).write_bytes(encode_jpeg(query.photo.rgb, quality=92))
        described.append(
            {
                "file": name,
                "split": "unknown",
                "bcp_name": query.design.bcp_name,
                "country": query.design.country.code,
                "direction": query.design.direction,
            }
        )
    (samples / "samples.json").write_text(json.dumps(described, indent=2) + "\n")


def ensure_demo_users(services: Services) -> list[tuple[str, str, str]]:
    """Demo accounts (an officer, a librarian of the demo's countries, an admin), made once;
    returns (name, role, password) of those made now, for the caller to print once."""
    from sqlmodel import select

    from app.auth.users import create_user
    from app.core.models import Role, UserAccount

    made: list[tuple[str, str, str]] = []
    with session_scope(services.engine) as session:
        countries = sorted(set(session.exec(select(Specimen.country)).all()))
        for name, kind in (("officer", Role.OFFICER), ("librarian", Role.LIBRARIAN)):
            if session.exec(select(UserAccount).where(UserAccount.username == name)).first():
                continue
            _, password = create_user(
                session, name, kind, countries if kind is Role.LIBRARIAN else []
            )
            made.append((name, kind.value, password))
        if not session.exec(select(UserAccount).where(UserAccount.username == "admin")).first():
            _, password = create_user(session, "admin", Role.ADMIN, [])
            made.append(("admin", "admin", password))
    for name, role_name, _ in made:
        services.audit("demo", "user.add", f"user:{name}", role=role_name)
    return made
