"""A terminal progress bar for an ingestion job: rows, rate and time left."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from app.core.models import IngestJob


@contextmanager
def progress_bar(job_id: int) -> Iterator[Callable[[IngestJob], None]]:
    columns = (
        TextColumn(f"job {job_id}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows · {task.fields[rate]:.1f}/s ·"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("ingest", total=None, rate=0.0)

        def show(job: IngestJob) -> None:
            elapsed = bar.tasks[task].elapsed or 0.0
            rate = job.processed / elapsed if elapsed > 0 else 0.0
            bar.update(task, total=job.rows or None, completed=job.processed, rate=rate)

        yield show
