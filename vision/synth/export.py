"""A synthetic world's specimens as a bulk-ingestion manifest (CSV + PNGs)."""

from __future__ import annotations

import csv
from pathlib import Path

from vision.imageio import encode_png
from vision.synth.world import SyntheticWorld

COLUMNS = (
    "image",
    "country",
    "bcp_name",
    "bcp_code",
    "direction",
    "mode",
    "shape",
    "ink_colour",
    "width_mm",
    "height_mm",
    "security_code",
    "valid_from",
    "valid_to",
    "notes",
)


def write_manifest(world: SyntheticWorld, folder: Path) -> Path:
    """Render every specimen to PNG under `folder` and write `manifest.csv`; return its path."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for index, design in enumerate(world.designs):
            name = f"images/{index:05d}.png"
            (folder / name).write_bytes(encode_png(world.specimen(index)))
            width, height = design.size_mm
            writer.writerow(
                {
                    "image": name,
                    "country": design.country.code,
                    "bcp_name": design.bcp_name,
                    "bcp_code": design.bcp_code,
                    "direction": design.direction,
                    "mode": design.mode,
                    "shape": design.shape,
                    "ink_colour": design.ink_name,
                    "width_mm": f"{width:.1f}",
                    "height_mm": f"{height:.1f}",
                    "security_code": design.security_code,
                    "valid_from": design.valid_from.isoformat(),
                    "valid_to": design.valid_to.isoformat() if design.valid_to else "",
                    "notes": f"synthetic design {design.design_id}",
                }
            )
    return manifest
