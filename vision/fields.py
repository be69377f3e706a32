"""Variable fields of a specimen: the lines every impression has its own of (date, counter).

A stamp's date band and counter number change with each impression, so a photo differs
there from every specimen, the right one included. Two near-twins' specimens differ there
too, besides the BCP name or direction word that tells them apart; a photo whose month
happens to be a rival specimen's then sides with the rival in a large, bold piece, and the
right design loses its round (see `vision.twins`). Which lines vary is read off the
specimen once, at ingestion: its text lines are found on the ink map, each is read with
Tesseract (offline, one line at a time), and a line holding digits is variable. A line is
the letters alike in height and level that follow each other, so a date's month goes with
its digits.

Replayed on the near-twin rounds of 200 photos per split of a validation world (seed 7777),
the right design came first in 174 of 200 phone photos instead of 161, 78 instead of 71 hard
ones and 194 instead of 185 scans; with the renderer's own date and counter (an oracle),
170, 76 and 194. On 50 of its specimens the lines read covered 96% of what a new date and
counter change (at least 80% on 47 of them), and 11% of the other ink (codes with digits,
the box around a date). Reading one specimen at a time took 189 ms p50, 265 ms p95 (a
Tesseract process takes ~130 ms to start); an ingestion chunk's lines are read together,
one process per core: 50 specimens in 3.8 s instead of 12.7 s, the same boxes.

The same character blobs, joined to their neighbours closer than a space whatever the
direction, are a specimen's words (`words`), straight or along a rim's arc: search judges
how well a photo looks like the first result in each (`vision.twins.weakest_word`).

A comparison (`vision.compare`) reads a specimen's lines and the same places on a photo
aligned onto it (`read_alongside`): the date's format is held against the specimen's
(`dates_read`), and the officer sees every fixed line (the BCP name) as the photo reads it.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.features import WORK_SIDE
from vision.normalise import byte_percentile, flatten, ink_map, resize_max, to_bytes
from vision.workers import parallel_map

log = logging.getLogger(__name__)
T = TypeVar("T")
MIN_DIGITS = 2  # a line with this many digits is a date or a counter, not a place name
MIN_LETTERS = 2  # a lone letter (of a rim's arc) is no date
CHAR_HEIGHT = (0.012, 0.12)  # a character's height as a share of the stamp's longer side
RULE = CHAR_HEIGHT[1]  # a straight stroke longer than a letter can be is a rule
LINE_GAP = 1.5  # words of one line are at most this many character heights apart
WORD_GAP = 0.45  # letters of one word are at most this many letter sizes apart (a space is more)
MIN_WORD_LETTERS = 3
RUN_TOGETHER = 1.5  # a blob this many times wider than tall is letters run together
CONVEX = 0.85  # a mark filling this much of its convex hull may be a bead, not a letter
READ_HEIGHT = 48  # pixels of text height Tesseract reads best at
READ_SIDE = 3 * WORK_SIDE  # lines are read from the specimen at most this large
PAD = 0.3  # of a line's height, around it, both for reading and for the mask
TIMEOUT_S = 30.0
READERS = max(1, os.cpu_count() or 1)  # Tesseract processes side by side
# how a reading fails: Tesseract exits badly, cannot be started, or takes too long
READ_FAILURES = (RuntimeError, OSError, subprocess.TimeoutExpired)


@dataclass(frozen=True)
class Line:
    """A text line's box (x0, y0, x1, y1) at the working size and what it reads."""

    box: tuple[int, int, int, int]
    text: str = ""

    @property
    def variable(self) -> bool:
        return sum(ch.isdigit() for ch in self.text) >= MIN_DIGITS


def _characters(ink: NDArray[np.uint8]) -> list[tuple[int, int, int, int]]:
    """Boxes of the ink blobs of a character's size (not the rim, not specks)."""
    strokes = ink > max(60.0, byte_percentile(ink, 99) * 0.4)
    side = max(ink.shape)
    # straight rules (a box around the date, a frame's edge) would join the letters they
    # touch into one blob: longer than any letter, they are taken away first
    rule = max(8, round(RULE * side))
    for kernel in (np.ones((1, rule), np.uint8), np.ones((rule, 1), np.uint8)):
        strokes &= ~(cv2.morphologyEx(strokes.astype(np.uint8), cv2.MORPH_OPEN, kernel) > 0)
    _, _, stats, _ = cv2.connectedComponentsWithStats(strokes.astype(np.uint8))
    low, high = (share * side for share in CHAR_HEIGHT)
    return [
        (int(x), int(y), int(x + w), int(y + h))
        for x, y, w, h, area in stats[1:]
        if low <= h <= high and w <= 1.25 * high and area >= 6
    ]


def _same_line(boxes: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which pairs of character boxes (x0, y0, x1, y1 rows) sit on one line: alike in height,
    level, and near each other."""
    heights = boxes[:, 3] - boxes[:, 1]
    taller = np.maximum(heights[:, None], heights[None, :])
    shorter = np.minimum(heights[:, None], heights[None, :])
    centres = boxes[:, 1] + boxes[:, 3]
    level = np.abs(centres[:, None] - centres[None, :]) / 2
    return np.asarray(
        (taller <= 1.5 * shorter) & (level <= 0.3 * taller) & (_gaps(boxes, 0) <= LINE_GAP * taller)
    )


def _gaps(boxes: NDArray[np.int64], axis: int) -> NDArray[np.int64]:
    """The gap between each pair of boxes (x0, y0, x1, y1 rows) along an axis (0: x, 1: y);
    negative where they overlap along it."""
    low, high = boxes[:, axis], boxes[:, axis + 2]
    return np.asarray(
        np.maximum(low[:, None], low[None, :]) - np.minimum(high[:, None], high[None, :])
    )


def _groups(pairs: NDArray[np.bool_]) -> list[list[int]]:
    """Items joined wherever `pairs[i, j]` holds (and through each other), as lists."""
    group_of = list(range(len(pairs)))

    def root(i: int) -> int:
        while group_of[i] != i:
            i = group_of[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(pairs, 1)), strict=True):
        group_of[root(int(j))] = root(int(i))
    members: dict[int, list[int]] = {}
    for i in range(len(pairs)):
        members.setdefault(root(i), []).append(i)
    return list(members.values())


def text_lines(ink: NDArray[np.uint8]) -> list[tuple[int, int, int, int]]:
    """Boxes of the text lines on a specimen's ink map: characters alike in height and level,
    and near each other, joined into lines (an arc of rim text beside a date stays apart: its
    letters are tilted, so taller, and sit at other levels)."""
    characters = np.array(_characters(ink), dtype=np.int64).reshape(-1, 4)
    boxes = [
        (int(x0), int(y0), int(x1), int(y1))
        for held in _groups(_same_line(characters))
        if len(held) >= MIN_LETTERS
        for x0, y0, x1, y1 in [(*characters[held, :2].min(0), *characters[held, 2:].max(0))]
    ]
    return sorted(boxes, key=lambda box: (box[1], box[0]))


def words(
    ink: NDArray[np.uint8], leave_out: NDArray[np.bool_] | None = None
) -> list[NDArray[np.int64]]:
    """The words on a specimen's ink map, straight or along a rim's arc: characters alike in
    size and closer to each other than a space, each word as its characters' boxes (x0, y0,
    x1, y1 rows); a word of fewer than MIN_WORD_LETTERS characters (a number, a lone letter)
    is left out, and so are the characters centred where `leave_out` holds."""
    characters = np.array(_characters(ink), dtype=np.int64).reshape(-1, 4)
    if leave_out is not None:
        centres = (characters[:, :2] + characters[:, 2:]) // 2
        characters = characters[~leave_out[centres[:, 1], centres[:, 0]]]
    # a tilted letter's box is wider than it is tall: its size is the larger side; but a blob
    # much wider than tall is letters run together (small bold type), as tall as one letter
    widths, heights = characters[:, 2] - characters[:, 0], characters[:, 3] - characters[:, 1]
    size = np.where(widths > RUN_TOGETHER * heights, heights, np.maximum(widths, heights))
    larger = np.maximum(size[:, None], size[None, :])
    close = np.maximum(_gaps(characters, 0), _gaps(characters, 1)) <= WORD_GAP * larger
    alike = larger <= 1.6 * np.minimum(size[:, None], size[None, :])
    return [
        characters[held]
        for held in _groups(close & alike)
        if len(held) >= MIN_WORD_LETTERS and not _beads(ink, characters[held])
    ]


def _beads(ink: NDArray[np.uint8], blobs: NDArray[np.int64]) -> bool:
    """Whether blobs are a run of one mark (a beaded or dotted border), not letters: marks
    of one size, each convex (a dot or a square fills its own hull; a letter leaves much of
    it blank, O its hole). Judged by size alone, letters of a small capital font were beads
    (HUAYTAO: nine pixels square each)."""
    widths, heights = blobs[:, 2] - blobs[:, 0], blobs[:, 3] - blobs[:, 1]
    if not (
        np.std(widths) <= 0.15 * np.mean(widths)
        and np.std(heights) <= 0.15 * np.mean(heights)
        and np.all(np.abs(widths - heights) <= 0.3 * np.maximum(widths, heights))
    ):
        return False
    for x0, y0, x1, y1 in blobs:
        mark = ink[y0:y1, x0:x1]
        inked = (mark >= 0.5 * float(mark.max())).astype(np.uint8)
        hull = np.zeros_like(inked)
        cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero(inked)), 1)
        if inked.sum() < CONVEX * hull.sum():
            return False
    return True


def _read(*groups: list[NDArray[np.uint8]]) -> list[list[str]]:
    """Tesseract's reading of each single-line image, one process per group, the processes
    running side by side."""
    with tempfile.TemporaryDirectory(prefix="stamplib-ocr-") as folder:
        running = []
        for number, images in enumerate(groups):
            paths = []
            for line, image in enumerate(images):
                path = Path(folder) / f"{number}-{line}.png"
                cv2.imwrite(str(path), image)
                paths.append(str(path))
            listing = Path(folder) / f"{number}.txt"
            listing.write_text("\n".join(paths) + "\n")
            running.append(
                subprocess.Popen(
                    ["tesseract", str(listing), "stdout", "--psm", "7"],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "OMP_THREAD_LIMIT": "1"},
                )
            )
        try:
            return [
                _pages(process, len(images))
                for process, images in zip(running, groups, strict=True)
            ]
        finally:
            for process in running:  # none is left running when another failed
                if process.poll() is None:
                    process.kill()
                    process.communicate()


def _read_spread(images: list[NDArray[np.uint8]]) -> list[str]:
    """Many lines' readings, spread over one process per core: a process takes about
    130 ms to start and a line about 16 ms to read, so a batch shares the start."""
    if not images:
        return []
    count = min(READERS, len(images))
    cuts = [round(len(images) * k / count) for k in range(count + 1)]
    groups = _read(*(images[a:b] for a, b in itertools.pairwise(cuts)))
    return [text for group in groups for text in group]


def _pages(process: subprocess.Popen[str], count: int) -> list[str]:
    """One process's reading: a page per image (nothing where Tesseract read nothing)."""
    out, err = process.communicate(timeout=TIMEOUT_S)
    if process.returncode != 0:
        raise RuntimeError(err.strip()[-300:] or f"tesseract exited {process.returncode}")
    pages = out.split("\f")
    return [page.strip() for page in pages[:count]] + [""] * (count - len(pages))


def reading_available() -> bool:
    return shutil.which("tesseract") is not None


def _line_image(
    ink: NDArray[np.uint8], box: tuple[int, int, int, int], scale: float = 1.0
) -> NDArray[np.uint8]:
    """One line of an ink map, padded, black on white, scaled to the text height Tesseract
    reads best at; `box` is at `scale` of the map's size (the working size of a finer map)."""
    x0, y0, x1, y1 = box
    pad = PAD * (y1 - y0)
    left, top = max(0, round((x0 - pad) / scale)), max(0, round((y0 - pad) / scale))
    right, bottom = round((x1 + pad) / scale), round((y1 + pad) / scale)
    line = 255 - ink[top:bottom, left:right]
    factor = READ_HEIGHT / max(1, (y1 - y0) / scale)
    scaled = cv2.resize(line, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    return np.asarray(scaled, dtype=np.uint8)


def date_line(specimen: list[Line]) -> Line | None:
    """A specimen's date line: of its variable lines, one that reads as a date (a counter
    such as "No. 024 GC16" does not), else the one with the most to it (a counter is
    shorter than a date)."""
    variable = [line for line in specimen if line.variable]
    dates = [line for line in variable if date_parts(line.text) is not None]
    return max(dates or variable, key=lambda line: len(date_pattern(line.text)), default=None)


def date_pattern(text: str) -> str:
    """The shape of a date as read: digits as 9, letters as A, separators kept, spaces
    collapsed ("26 JAN 24" -> "99 AAA 99"; "26.01.2024" -> "99.99.9999"). A date's format is
    the same on every impression of a stamp; its digits are not."""
    shape = []
    for ch in text.strip():
        if ch.isdigit():
            shape.append("9")
        elif ch.isalpha():
            shape.append("A")
        elif ch in "./-:":
            shape.append(ch)
        elif ch.isspace():
            shape.append(" ")
    return " ".join("".join(shape).split())


# what Tesseract makes of a date box's frame, a stamp's rim or a speck beside the date
NOISE_CHARACTERS = "|()[]{}<>\\`'\";!?=*~_\u2018\u2019\u201c\u201d\u00a3$\u00a2\u00a5\u00b0"
READ_NOISE = str.maketrans({ch: " " for ch in NOISE_CHARACTERS})
# long dashes read for a hyphen, a comma for a full stop (a comma left after the year is
# stripped with the other trailing separators)
LOOKALIKES = str.maketrans({"\u2014": "-", "\u2013": "-", ",": "."})
SEPARATORS = "./-:"


def date_parts(text: str) -> list[tuple[str, str | int]] | None:
    """A date as read, part by part: ("D", digits' count), ("A", letters' count) and the
    separators between them ("S", "." "/" "-" ":" or " "); None when the reading is not a
    date's: a date has three parts (day, month, year), at least two in digits, and a month
    in letters has at least three."""
    cleaned = text.upper().translate(LOOKALIKES).translate(READ_NOISE).strip(" " + SEPARATORS)
    parts: list[tuple[str, str | int]] = []
    for token in re.findall(r"\d+|[A-Z]+|[./\-:]|\s+", cleaned):
        if token.isdigit():
            parts.append(("D", len(token)))
        elif token.isalpha():
            parts.append(("A", len(token)))
        elif parts and parts[-1][0] == "S":  # a space beside a separator is the separator's
            if parts[-1][1] == " ":
                parts[-1] = ("S", token.strip() or " ")
        else:
            parts.append(("S", token.strip() or " "))
    groups = [kind for kind, _ in parts if kind != "S"]
    if len(groups) != 3 or groups.count("D") < 2:
        return None
    if any(kind == "A" and int(count) < 3 for kind, count in parts):
        return None  # a month in letters has at least three ("19 RH2025" is a misreading)
    return parts


def _part_cost(a: tuple[str, str | int], b: tuple[str, str | int]) -> float:
    """Parts of one kind agree; digits and letters when their counts are within one (a
    reading drops or adds a character), separators when they are the same."""
    if a[0] != b[0]:
        return 1.0
    if a[0] == "S":
        return float(a[1] != b[1])
    return float(abs(int(a[1]) - int(b[1])) > 1)


def _edit_distance(a: Sequence[T], b: Sequence[T], cost: Callable[[T, T], float]) -> float:
    """The least cost of turning `a` into `b`: a deletion or insertion costs 1, a
    substitution `cost`."""
    previous = [float(j) for j in range(len(b) + 1)]
    for i, item in enumerate(a, start=1):
        current = [float(i)]
        for j, other in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost(item, other))
            )
        previous = current
    return previous[-1]


def date_format_distance(specimen: str, photo: str) -> float | None:
    """How far the photo's date format is from the specimen's, 0..1: the edit distance of
    their parts (`date_parts`) over the longer; None when either reading is not a date's
    (no evidence either way). "26.01.2024" against "03/07/25" is 0.6 (two separators and
    the year), against "11.05.2016" 0."""
    a, b = date_parts(specimen), date_parts(photo)
    if a is None or b is None:
        return None
    return _edit_distance(a, b, _part_cost) / max(len(a), len(b))


@dataclass(frozen=True)
class LineReading:
    """One of a specimen's text lines as read on the specimen and, at the same place, on a
    photo aligned onto it."""

    box: tuple[int, int, int, int]
    specimen: str
    photo: str

    @property
    def kind(self) -> str:
        """What the line holds: "date" or "counter" (each impression has its own), or
        "fixed" (a place name, a direction word: the same on every impression)."""
        if not Line(self.box, self.specimen).variable:
            return "fixed"
        return "date" if date_parts(self.specimen) is not None else "counter"

    @property
    def legible(self) -> bool:
        """The specimen's reading says something (a lone letter of a rim's arc does not)."""
        return len(_letters(self.specimen)) >= MIN_LEGIBLE

    @property
    def alike(self) -> bool | None:
        """Whether a fixed line reads as the specimen's on the photo, within a few
        misread characters (`ALIKE`); None for a date or counter, or a line the photo
        does not read at all (no evidence either way)."""
        if self.kind != "fixed" or not _letters(self.photo):
            return None
        return text_similarity(self.specimen, self.photo) >= ALIKE


ALIKE = 0.75  # of a line's letters and digits, read alike on photo and specimen
MIN_LEGIBLE = 3  # letters or digits a specimen's line reading holds to be shown


def _letters(text: str) -> str:
    """Letters and digits only, upper case: what a reading of a line says."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def text_similarity(a: str, b: str) -> float:
    """1 less the edit distance of two readings' letters and digits over the longer."""
    x, y = _letters(a), _letters(b)
    if not x and not y:
        return 1.0
    return 1.0 - _edit_distance(x, y, lambda p, q: float(p != q)) / max(len(x), len(y))


def read_alongside(
    specimen_ink: NDArray[np.uint8], photo_ink: NDArray[np.uint8]
) -> list[LineReading] | None:
    """Every text line of a specimen read on it and on a photo aligned onto it (ink maps of
    one size): the specimen's lines are found and read, and the photo is read at the same
    boxes (two Tesseract processes side by side). None when nothing could be read: no
    Tesseract, or it failed; empty when the specimen has no straight text line."""
    if not reading_available():
        return None
    boxes = text_lines(specimen_ink)
    if not boxes:
        return []
    try:
        specimen, photo = _read(
            [_line_image(specimen_ink, box) for box in boxes],
            [_line_image(photo_ink, box) for box in boxes],
        )
    except READ_FAILURES as error:
        log.warning("reading the lines of a comparison failed: %s", error)
        return None
    return [LineReading(box, a, b) for box, a, b in zip(boxes, specimen, photo, strict=True)]


def dates_read(readings: list[LineReading] | None) -> tuple[str, str] | None:
    """The specimen's date line (`date_line`) as read on the specimen and on the photo;
    None when there is nothing to hold against each other: nothing read, no date line on
    the specimen, or a photo's reading without two digits."""
    if not readings:
        return None
    lines = [Line(reading.box, reading.specimen) for reading in readings]
    date = date_line(lines)
    if date is None:
        return None
    photo_date = Line(date.box, readings[lines.index(date)].photo)
    if not photo_date.variable:
        return None  # the photo's date could not be read: no evidence either way
    return date.text, photo_date.text


def _specimen_line_images(
    rgb: NDArray[np.uint8], ink: NDArray[np.uint8], boxes: list[tuple[int, int, int, int]]
) -> list[NDArray[np.uint8]]:
    """A specimen crop's lines (boxes on its working-size `ink`), cut from a finer ink map."""
    if not boxes:
        return []
    fine, _ = resize_max(rgb, READ_SIDE)
    full = to_bytes(ink_map(flatten(fine)))
    scale = ink.shape[1] / fine.shape[1]  # from the fine size to the working size
    return [_line_image(full, box, scale) for box in boxes]


def read_lines(specimens: list[tuple[NDArray[np.uint8], NDArray[np.uint8]]]) -> list[list[Line]]:
    """The text lines of specimen crops, each found on its ink map at the working size
    (the crop and its `ink`, as `vision.features` keeps it), read at a finer size (black on
    white, scaled to a text height Tesseract reads well); all of a batch's lines in one
    reading."""
    boxes = [text_lines(ink) for _, ink in specimens]
    images = parallel_map(
        lambda item: _specimen_line_images(*item[0], item[1]), zip(specimens, boxes, strict=True)
    )
    texts = iter(_read_spread([image for group in images for image in group]))
    return [[Line(box, next(texts)) for box in held] for held in boxes]


def variable_lines(
    specimens: list[tuple[NDArray[np.uint8], NDArray[np.uint8]]],
) -> list[NDArray[np.int16] | None]:
    """For each specimen crop and its working-size `ink` map, the boxes (x0, y0, x1, y1
    rows, padded, at the working size) of its variable lines; None when the lines cannot be
    read (no Tesseract here, or it failed), so that nothing is left out."""
    if not reading_available():
        log.warning("tesseract is not installed: specimens' date and counter lines are not known")
        return [None] * len(specimens)
    try:
        read = read_lines(specimens)
    except READ_FAILURES as error:
        log.warning("reading specimens' text lines failed: %s", error)
        return [None] * len(specimens)
    return [
        _padded([line.box for line in lines if line.variable], ink.shape)
        for lines, (_, ink) in zip(read, specimens, strict=True)
    ]


def _padded(boxes: list[tuple[int, int, int, int]], shape: tuple[int, ...]) -> NDArray[np.int16]:
    height, width = shape[:2]
    padded = []
    for x0, y0, x1, y1 in boxes:
        pad = round(PAD * (y1 - y0))
        padded.append(
            (max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad))
        )
    return np.array(padded, dtype=np.int16).reshape(-1, 4)


def lines_mask(
    boxes: NDArray[np.int16], shape: tuple[int, ...], scale: float = 1.0
) -> NDArray[np.bool_]:
    """Where the boxes (at the working size) lie in an image of `shape` at `scale` of it: a
    pixel the boxes touch counts."""
    mask = np.zeros(shape[:2], dtype=bool)
    for x0, y0, x1, y1 in boxes:
        top, left = math.floor(y0 * scale), math.floor(x0 * scale)
        mask[top : math.ceil(y1 * scale), left : math.ceil(x1 * scale)] = True
    return mask
