"""The `stamplib` command line."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn

from app.core import catalogue
from app.core.db import session_scope, upgrade_schema
from app.core.settings import get_settings
from app.services import open_services

if TYPE_CHECKING:
    from ingestion.reconcile import LibraryCheck

cli = typer.Typer(
    help="StampLib: e-library of genuine border stamp specimens.", no_args_is_help=True
)
specimens_cli = typer.Typer(help="Browse the catalogue.", no_args_is_help=True)
db_cli = typer.Typer(help="Catalogue database.", no_args_is_help=True)
cli.add_typer(specimens_cli, name="specimens")
cli.add_typer(db_cli, name="db")
index_cli = typer.Typer(help="Search indexes.", no_args_is_help=True)
cli.add_typer(index_cli, name="index")
user_cli = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")
audit_cli = typer.Typer(help="The audit trail.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")


@user_cli.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option(help="officer, librarian or admin")],
    country: Annotated[
        list[str] | None, typer.Option(help="a country a librarian curates (repeat)")
    ] = None,
) -> None:
    """Add a user; their password is printed once."""
    from app.auth.users import create_user
    from app.core.models import Role

    services = open_services(get_settings())
    try:
        with session_scope(services.engine) as session:
            user, password = create_user(session, name, Role(role), country or [])
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc
    services.audit("cli", "user.add", f"user:{name}", role=role)
    typer.echo(f"user {user.username} ({user.role}) added; password (shown once): {password}")


@user_cli.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="user name")],
    label: Annotated[str, typer.Option("--name", help="what the token is for")] = "cli",
) -> None:
    """Create an API token for a user; it is printed once (only its hash is kept)."""
    from sqlmodel import select

    from app.auth.users import create_token
    from app.core.models import UserAccount

    services = open_services(get_settings())
    with session_scope(services.engine) as session:
        user = session.exec(select(UserAccount).where(UserAccount.username == name)).first()
        if user is None:
            typer.echo(f"no user {name!r}", err=True)
            raise typer.Exit(code=2)
        row, token = create_token(session, user, label)
    services.audit("cli", "token.create", f"token:{row.id}", user=name)
    typer.echo(token)


@cli.command("purge-photos")
def purge_photos(
    days: Annotated[
        float | None, typer.Option(help="retention in days (default: the setting)")
    ] = None,
) -> None:
    """Delete officers' query photos past the retention period; checks keep their results."""
    from app.checks import apply_retention

    settings = get_settings()
    services = open_services(settings)
    with session_scope(services.engine) as session:
        removed = apply_retention(
            session, services.store, settings.query_retention_days if days is None else days
        )
    typer.echo(f"{removed} query photos deleted")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the audit trail's hash chain; exit 1 naming every edited or deleted record."""
    from sqlmodel import func, select

    from app.auth.audit import verify_chain
    from app.core.models import AuditRecord

    services = open_services(get_settings())
    with session_scope(services.engine) as session:
        problems = verify_chain(session)
        count = session.exec(select(func.count()).select_from(AuditRecord)).one()
    for problem in problems:
        typer.echo(problem, err=True)
    typer.echo(f"{count} audit records: " + ("chain broken" if problems else "chain intact"))
    if problems:
        raise typer.Exit(code=1)


@index_cli.command("rebuild")
def index_rebuild(
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute",
            help="compute every specimen's vectors again from its image (after an upgrade "
            "that changes how stamps are cropped or described)",
        ),
    ] = False,
) -> None:
    """Rebuild the search indexes from the catalogue (images only where vectors are missing)."""
    services = open_services(get_settings())
    count = services.search.rebuild(services.store, recompute=recompute)
    services.close()
    typer.echo(f"index rebuilt: {count} specimens")


@index_cli.command("check")
def index_check(
    repair: Annotated[bool, typer.Option("--repair", help="fix what can be fixed")] = False,
    deep: Annotated[bool, typer.Option("--deep", help="re-hash every image object")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Check that catalogue, object store and search index agree; exit 1 if they do not."""
    from app.live_index import LiveIndex
    from app.search import index_file
    from ingestion.reconcile import check_library, remove_orphans

    services = open_services(get_settings())
    embedder = services.embedder
    live = LiveIndex(
        engine=services.engine,
        store=services.store,
        model_id=embedder.model_id,
        dimension=embedder.dimension,
        path=index_file(services.index_dir, embedder),
        heal=False,
    )

    def run_check() -> LibraryCheck:
        with session_scope(services.engine) as session:
            ids = live.embeddings.ids().tolist()
            return check_library(session, services.store, ids, embedder.model_id, deep=deep)

    report = run_check()
    if repair and not report.ok:
        removed = remove_orphans(services.store, report)
        count = services.search.rebuild(services.store)
        live = services.search.live
        typer.echo(f"repaired: {removed} orphan objects removed, index rebuilt ({count})", err=True)
        report = run_check()
    services.engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        typer.echo(
            f"catalogue {report.catalogue}, objects {report.objects}, index {report.index}: "
            + ("ok" if report.ok else f"{len(report.problems)} problems")
        )
        for problem in report.problems:
            typer.echo(f"  {problem}")
    if not report.ok:
        raise typer.Exit(code=1)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the web UI and the API."""
    settings = get_settings()
    if settings.auto_migrate:
        upgrade_schema(settings.database_url)
    typer.echo(f"StampLib on http://{host}:{port}  (catalogue {settings.database_url})")
    uvicorn.run("app.asgi:app", host=host, port=port, workers=workers, log_level="info")


@cli.command()
def demo(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    specimens: Annotated[int, typer.Option(min=10, help="synthetic specimens in the demo")] = 150,
) -> None:
    """Fill an empty embedded library with synthetic specimens, write sample photos, and serve."""
    from app.demo import ensure_demo_library, ensure_demo_users

    services = open_services(get_settings())
    samples = ensure_demo_library(services, specimens=specimens)
    for name, role, password in ensure_demo_users(services):
        typer.echo(f"demo user {name!r} ({role}), password (shown once): {password}")
    services.close()
    typer.echo(f"sample photos to search: {samples}/ (see samples.json for what each shows)")
    serve(host=host, port=port, workers=1)


@cli.command()
def search(
    image: Annotated[
        Path, typer.Argument(help="photo or scan of a stamp", exists=True, dir_okay=False)
    ],
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=50)] = 5,
    country: Annotated[str | None, typer.Option(help="only this country (alpha-3)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    crop: Annotated[str | None, typer.Option(help="x,y,w,h of the stamp in the photo")] = None,
    each_stamp: Annotated[
        bool, typer.Option(help="also search every other impression found on the photo")
    ] = False,
) -> None:
    """Search the library for the genuine specimens a stamp photo may be."""
    from app.api.search import parse_crop, search_photo
    from app.search import SearchFilters

    try:
        box = parse_crop(crop)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--crop") from exc
    services = open_services(get_settings())
    try:
        with session_scope(services.engine) as session:
            result = search_photo(
                services,
                session,
                image.read_bytes(),
                SearchFilters(country=country),
                top_k=top_k,
                box=box,
                each_stamp=each_stamp,
            )
    finally:
        services.close()
    if as_json:
        typer.echo(result.model_dump_json(indent=2, exclude={"query_id"}, exclude_none=True))
        return
    sets = [(result.crop, result.decision, result.confidence, result.matches)]
    sets += [(s.crop, s.decision, s.confidence, s.matches) for s in result.stamps or []]
    for number, (box_used, decision, confidence, matches) in enumerate(sets):
        if number:
            typer.echo(f"\nimpression at {box_used}:")
        typer.echo(f"decision: {decision} (confidence {confidence:.2f})")
        for rank, match in enumerate(matches, start=1):
            mark = "verified" if match.verified else "not verified"
            typer.echo(
                f"{rank}. #{match.specimen_id} {match.country} {match.bcp_name} "
                f"{match.direction} {match.mode}  score {match.score:.3f} ({mark})"
            )
    if not each_stamp and result.other_stamps:
        typer.echo(
            f"{len(result.other_stamps)} other impression(s) on the photo: "
            "--each-stamp searches them, --crop x,y,w,h one of them"
        )


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply catalogue migrations up to REVISION."""
    upgrade_schema(get_settings().database_url, revision)
    typer.echo(f"catalogue schema at {revision}")


@specimens_cli.command("list")
def specimens_list(
    country: Annotated[str | None, typer.Option(help="ISO alpha-3 country")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List specimens in the catalogue."""
    services = open_services(get_settings())
    with session_scope(services.engine) as session:
        rows, total = catalogue.list_specimens(
            session, catalogue.SpecimenFilter(country=country), limit=limit
        )
        public = [catalogue.to_public(session, row) for row in rows]
    if as_json:
        typer.echo(json.dumps([item.model_dump(mode="json") for item in public], indent=2))
        return
    for item in public:
        typer.echo(
            f"{item.id:>6}  {item.country}  {item.bcp_name:<32} {item.direction:<5} "
            f"{item.mode:<4} {item.status}"
        )
    typer.echo(f"{len(public)} of {total} specimens")


@cli.command()
def ingest(
    path: Annotated[
        Path | None,
        typer.Argument(help="manifest CSV, folder with manifest.csv, or ZIP", exists=True),
    ] = None,
    resume: Annotated[int | None, typer.Option(help="resume this interrupted job")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="store nothing if any row is bad")
    ] = False,
    actor: Annotated[str, typer.Option(help="name recorded as creator")] = "cli",
) -> None:
    """Ingest specimens in bulk from a manifest, as a job that can be resumed."""

    from app.ingest_progress import progress_bar
    from ingestion.jobs import create_job, get_job, run_stored_job

    if (path is None) == (resume is None):
        raise typer.BadParameter("give either a PATH or --resume JOB")
    services = open_services(get_settings())
    if resume is not None:
        job_id = get_job(services.engine, resume).id or resume
    else:
        assert path is not None
        job_id = create_job(services.engine, source=str(path.resolve()), actor=actor)
    with progress_bar(job_id) as show:
        job = run_stored_job(
            services.engine,
            services.store,
            job_id,
            indexer=services.indexer,
            limits=services.image_limits,
            strict=strict,
            progress=show,
        )
    services.engine.dispose()
    for error in job.errors:
        typer.echo(f"row {error['row']} ({error['image']}): {error['reason']}", err=True)
    for flag in job.flagged:
        typer.echo(
            f"flagged: row {flag['row']}: specimen {flag['specimen_id']} looks like specimen "
            f"{flag['similar_to']} (similarity {flag['similarity']}); please check",
            err=True,
        )
    typer.echo(
        f"job {job_id} {job.status}: {job.added} added, {job.unchanged} already in the library, "
        f"{len(job.errors)} errors, {len(job.flagged)} flagged as near-duplicates"
    )
    if job.message:
        typer.echo(job.message, err=True)
    if job.status == "failed" or job.errors:
        raise typer.Exit(code=1)


@cli.command()
def compare(
    image_a: Annotated[Path, typer.Argument(help="reference image", exists=True, dir_okay=False)],
    image_b: Annotated[
        Path | None, typer.Argument(help="image to examine", exists=True, dir_okay=False)
    ] = None,
    specimen: Annotated[
        int | None, typer.Option(help="compare IMAGE_A (the photo) with this specimen")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="stamp or document")] = None,
    out: Annotated[Path | None, typer.Option(help="write overlay, heat map, aligned image")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Align one image onto another (or a photo onto a specimen) and show what differs."""
    from vision.alignment import AlignmentError
    from vision.compare import compare_images, summary
    from vision.imageio import decode_image, encode_png
    from vision.localise import primary_crop

    if (image_b is None) == (specimen is None):
        raise typer.BadParameter("give either IMAGE_B or --specimen ID")
    if specimen is not None:
        services = open_services(get_settings())
        with session_scope(services.engine) as session:
            key = catalogue.get_specimen(session, specimen).image_key
        reference = decode_image(services.store.get(key)).rgb
        other, _ = primary_crop(decode_image(image_a.read_bytes()).rgb)
    else:
        assert image_b is not None
        reference = decode_image(image_a.read_bytes()).rgb
        other = decode_image(image_b.read_bytes()).rgb
    try:
        result = compare_images(
            reference, other, mode=mode or ("stamp" if specimen is not None else "document")
        )
    except AlignmentError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name in ("overlay", "heatmap", "aligned_b"):
            (out / f"{name}.png").write_bytes(encode_png(getattr(result, name)))
    report = summary(result)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(f"{report['verdict']}: {', '.join(result.differing) or 'no region differs'}")
        for key, value in report["measurements"].items():  # type: ignore[attr-defined]
            typer.echo(f"  {key}: {value}")
    if result.differing:
        raise typer.Exit(code=1)


@cli.command()
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="a small world for a fast check")] = False,
    specimens: Annotated[int | None, typer.Option(min=10, help="library size")] = None,
    queries: Annotated[int | None, typer.Option(min=1, help="queries per split")] = None,
    pairs: Annotated[
        int | None,
        typer.Option(min=2, help="forged photos the comparison checks (as many genuine ones)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="world seed")] = 0,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("benchmarks/results"),
    scale: Annotated[
        bool, typer.Option("--scale", help="only the index at 10k, 100k and 1M vectors")
    ] = False,
    ingest_scale: Annotated[
        bool, typer.Option("--ingest-scale", help="only bulk ingestion at 1k and 10k specimens")
    ] = False,
    search_scale: Annotated[
        bool, typer.Option("--search-scale", help="only search on a 10,000-specimen library")
    ] = False,
    compare_only: Annotated[
        bool,
        typer.Option("--compare-only", help="only the comparison: genuine and forged photos"),
    ] = False,
) -> None:
    """Measure accuracy and speed on a synthetic world, beside baselines."""
    from dataclasses import replace

    from benchmarks.report import markdown_table
    from benchmarks.run import BenchOptions, run_benchmark

    options = BenchOptions.quick(out, seed) if quick else BenchOptions(out=out, seed=seed)
    if specimens:
        options = replace(options, specimens=specimens)
    if pairs:
        options = replace(options, forgery_pairs=pairs)
    if compare_only:
        from benchmarks.compare_bench import run_compare_bench

        summary = run_compare_bench(out, seed, options.specimens, options.forgery_pairs)
        results = _merge_results(out, "compare", summary)
        if "methods" in results:  # the table of a full run, with the new comparison line
            (out / "results.md").write_text(markdown_table(results) + "\n")
        typer.echo(json.dumps({k: v for k, v in summary.items() if k != "roc"}, indent=2))
        return

    if search_scale:
        from benchmarks.search_scale import run_search_scale

        measured = run_search_scale(out / "work", seed=seed)
        _merge_results(out, "search_scale", measured)
        typer.echo(json.dumps(measured, indent=2))
        return

    if ingest_scale:
        from benchmarks.ingest_scale import run_ingest_scale

        measured = run_ingest_scale(out / "work", seed=seed)
        _merge_results(out, "ingest_scale", measured)
        typer.echo(json.dumps(measured, indent=2))
        return
    if scale:
        from benchmarks.report import scale_table
        from benchmarks.scale import write_scale

        typer.echo(scale_table(write_scale(out, seed=seed)))
        typer.echo(f"results in {out}/scale.json and {out}/scale.png")
        return

    if queries:
        options = replace(options, queries_per_split=queries, unknown_queries=queries)
    out.mkdir(parents=True, exist_ok=True)
    results = run_benchmark(options)
    typer.echo(markdown_table(results))
    typer.echo(f"results in {out}/results.json")


def _merge_results(out: Path, key: str, value: object) -> dict[str, Any]:
    """Put one benchmark's results into results.json beside the others; all of them."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    results[key] = value
    path.write_text(json.dumps(results, indent=2) + "\n")
    return results


@cli.command()
def train(
    out: Annotated[Path, typer.Option(help="where weights, sidecar and curve go")] = Path(
        "vision/models"
    ),
    steps: Annotated[int, typer.Option(min=1, help="optimiser steps")] = 3000,
    batch: Annotated[int, typer.Option(min=4, help="designs per batch")] = 48,
    seed: Annotated[int, typer.Option(help="seed of model, designs and photos")] = 0,
    max_minutes: Annotated[float, typer.Option(help="stop early after this long")] = 85.0,
    refresh_only: Annotated[
        bool,
        typer.Option(help="no training: only recompute the BatchNorm statistics of OUT's weights"),
    ] = False,
) -> None:
    """Train the stamp model on the synthetic world (CPU, reproducible from the seed)."""
    from vision.training.train import TrainOptions, refresh
    from vision.training.train import train as run_training

    options = TrainOptions(out=out, steps=steps, batch=batch, seed=seed, max_minutes=max_minutes)
    if refresh_only:
        sidecar = refresh(options)
        typer.echo(f"weights {sidecar['weights_sha256'][:12]}: BatchNorm statistics refreshed")
        return
    sidecar = run_training(options)
    typer.echo(
        f"weights {sidecar['weights_sha256'][:12]} after {sidecar['training']['steps']} steps"
    )


@cli.command()
def calibrate(
    specimens: Annotated[int, typer.Option(min=20, help="validation library size")] = 1000,
    queries: Annotated[int, typer.Option(min=10, help="validation queries per split")] = 200,
    pairs: Annotated[int, typer.Option(min=10, help="forgery pairs per validation world")] = 150,
    search: Annotated[bool, typer.Option(help="calibrate search's fusion and decision")] = True,
    comparison: Annotated[bool, typer.Option(help="calibrate the comparison verdict")] = True,
    work: Annotated[Path, typer.Option(help="scratch folder")] = Path("data/calibration"),
) -> None:
    """Fit search's score fusion and decision thresholds, and the comparison verdict's
    thresholds, on a validation world; store them with the model."""
    from benchmarks.calibrate import calibrate as run_calibration
    from benchmarks.calibrate import calibrate_comparison

    result: dict[str, object] = {}
    if search:
        result["search"] = run_calibration(
            work, specimens=specimens, queries=queries, unknown=queries * 2
        )
    if comparison:
        result["comparison"] = calibrate_comparison(specimens=specimens, pairs=pairs)
    typer.echo(json.dumps(result, indent=2))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cli()
