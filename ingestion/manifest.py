"""Reading a bulk manifest: a CSV, a folder holding `manifest.csv`, or a ZIP of either.

Every row is checked on its own and reported with its row number; a bad row never
stops the good ones.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from app.core.models import SpecimenCreate

MANIFEST_NAME = "manifest.csv"
REQUIRED_COLUMNS = ("image", "country", "bcp_name", "direction")
MAX_MANIFEST_BYTES = 20 * 1024 * 1024


class ManifestError(ValueError):
    """The manifest as a whole cannot be read; the message says why."""


@dataclass(frozen=True)
class ManifestRow:
    number: int  # 1-based, counting the header as row 1 like a spreadsheet
    image_path: str
    fields: dict[str, str]


class Bundle:
    """Where the manifest and its images live: a folder or a ZIP archive."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if source.is_dir():
            self._root = source.resolve()
            self._manifest = self._root / MANIFEST_NAME
        elif zipfile.is_zipfile(source):
            self._zip = zipfile.ZipFile(source)
            names = [n for n in self._zip.namelist() if PurePosixPath(n).name == MANIFEST_NAME]
            if not names:
                raise ManifestError(f"{source.name} holds no {MANIFEST_NAME}")
            shallowest = min(names, key=lambda n: n.count("/"))
            self._prefix = shallowest[: -len(MANIFEST_NAME)]
        elif source.suffix.lower() == ".csv":
            self._root = source.resolve().parent
            self._manifest = source.resolve()
        else:
            raise ManifestError(
                f"{source} is not a manifest CSV, a folder with {MANIFEST_NAME} or a ZIP"
            )

    def manifest_text(self) -> str:
        if self._zip is not None:
            data = self._zip.read(self._prefix + MANIFEST_NAME)
        else:
            if not self._manifest.is_file():
                raise ManifestError(f"{self.source} has no {MANIFEST_NAME}")
            data = self._manifest.read_bytes()
        if len(data) > MAX_MANIFEST_BYTES:
            raise ManifestError("the manifest is larger than 20 MB")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ManifestError("the manifest is not UTF-8 text") from exc

    def read_image(self, relative: str, max_bytes: int) -> bytes:
        """The bytes of an image named in the manifest; refuses paths that leave the bundle."""
        path = PurePosixPath(relative.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or not relative.strip() or ":" in path.parts[0]:
            raise ValueError(f"image path {relative!r} must be relative and stay inside the bundle")
        if self._zip is not None:
            try:
                info = self._zip.getinfo(self._prefix + str(path))
            except KeyError as exc:
                raise ValueError(f"image {relative!r} is not in the archive") from exc
            if info.file_size > max_bytes:
                raise ValueError(f"image {relative!r} is larger than {max_bytes / 1e6:.0f} MB")
            return self._zip.read(info)
        file = (self._root / path).resolve()
        if not file.is_relative_to(self._root):
            raise ValueError(f"image path {relative!r} leaves the manifest's folder")
        if not file.is_file():
            raise ValueError(f"image {relative!r} does not exist")
        if file.stat().st_size > max_bytes:
            raise ValueError(f"image {relative!r} is larger than {max_bytes / 1e6:.0f} MB")
        return file.read_bytes()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def read_rows(bundle: Bundle) -> Iterator[ManifestRow]:
    reader = csv.DictReader(io.StringIO(bundle.manifest_text()))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ManifestError(f"the manifest lacks required columns: {', '.join(missing)}")
    for number, raw in enumerate(reader, start=2):
        fields = {
            (key or "").strip(): (value or "").strip()
            for key, value in raw.items()
            if key is not None and not isinstance(value, list)
        }
        yield ManifestRow(number=number, image_path=fields.pop("image", ""), fields=fields)


def validate_fields(row: ManifestRow) -> SpecimenCreate:
    """The row's metadata as a specimen, or ValueError naming each bad field."""
    known = set(SpecimenCreate.model_fields)
    unknown = sorted(set(row.fields) - known)
    if unknown:
        raise ValueError(f"unknown column(s): {', '.join(unknown)}")
    values: dict[str, Any] = {key: value for key, value in row.fields.items() if value != ""}
    try:
        return SpecimenCreate.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'row'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ValueError(problems) from exc
