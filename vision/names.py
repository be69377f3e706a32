"""Whether a photo reads as its first result's BCP name.

A stamp that copies a library design under another BCP name looks like that design in
everything but the name, and whole-stamp measures barely notice it. Reading the name
settles it: the photo is warped onto the verified specimen and read (`vision.ocr`) on the
specimen's fixed text lines whose length fits the catalogued name, and the best reading is
held against that name. On the validation world (seed 7777), 42% of 59 phone photos
aligned onto their specimens read exactly as the specimen's BCP name, and none of 57
stamps naming a made-up BCP in a library stamp's style came within 0.95 of that stamp's
name (the closest read 0.90). A reading that fails (blur, a name on a curve, no Tesseract)
is weak evidence either way: the similarity is then low for genuine and false alike.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.features import StampFeatures
from vision.fields import line_image, text_lines
from vision.ocr import ReaderUnavailableError, read_line

# a name line's width over its height, per character (median over validation specimens'
# name lines; 5th-95th percentile 0.69-0.98)
CHAR_ASPECT = 0.835
LINES_READ = 2  # the name is one of the two lines nearest its length on 60 of 60 specimens
CLEAR_READ = 0.95  # a reading this close reads as the name: no other line is read, decisions count it


@dataclass(frozen=True)
class NameReading:
    """The photo's best reading of a specimen's name line, and how close it is to the
    catalogued name (0..1)."""

    text: str = ""
    similarity: float = 0.0


def similarity(read: str, name: str) -> float:
    return difflib.SequenceMatcher(None, " ".join(read.upper().split()), name.upper()).ratio()


def _fixed_lines(specimen: StampFeatures) -> list[tuple[int, int, int, int]]:
    """The specimen's text lines that every impression shares (not its date or counter)."""
    variable = specimen.variable if specimen.variable is not None else np.zeros((0, 4))
    lines = []
    for x0, y0, x1, y1 in text_lines(specimen.ink):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        inside = (variable[:, 0] <= cx) & (cx <= variable[:, 2])
        if not (inside & (variable[:, 1] <= cy) & (cy <= variable[:, 3])).any():
            lines.append((x0, y0, x1, y1))
    return lines


def name_lines(specimen: StampFeatures, name: str) -> list[tuple[int, int, int, int]]:
    """Up to LINES_READ fixed lines whose length in letter heights fits `name`, best first."""

    def misfit(box: tuple[int, int, int, int]) -> float:
        x0, y0, x1, y1 = box
        aspect = (x1 - x0) / max(1, y1 - y0)
        return abs(float(np.log(aspect / (CHAR_ASPECT * max(1, len(name))))))

    return sorted(_fixed_lines(specimen), key=misfit)[:LINES_READ]


def read_name(
    query_ink: NDArray[np.uint8],
    specimen: StampFeatures,
    query_to_specimen: NDArray[np.float64],
    name: str,
) -> NameReading:
    """The photo's ink (`query_ink`, at the working size) warped onto the verified
    `specimen` and read where its name may be; the reading closest to `name`."""
    if not name.strip():
        return NameReading()
    height, width = specimen.ink.shape
    warped = np.asarray(
        cv2.warpPerspective(query_ink, query_to_specimen, (width, height)), dtype=np.uint8
    )
    best = NameReading()
    for box in name_lines(specimen, name):
        try:
            text = read_line(line_image(warped, box))
        except ReaderUnavailableError:
            return NameReading()
        reading = NameReading(text, round(similarity(text, name), 4))
        if reading.similarity > best.similarity:
            best = reading
        if best.similarity >= CLEAR_READ:
            break
    return best
