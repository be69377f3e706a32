"""Drawing one stamp impression as an ink mask, with the regions of its parts.

Everything is drawn at twice the output resolution and reduced, which gives the soft
edges of rubber on paper without any per-renderer trickery.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from vision.synth.design import StampDesign
from vision.synth.fonts import font

SUPERSAMPLE = 2
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Impression:
    """Ink coverage in [0, 1] and the boxes (x0, y0, x1, y1) of named parts, in pixels."""

    mask: NDArray[np.float32]
    regions: dict[str, Box]


class _Canvas:
    def __init__(self, width: int, height: int, px_per_mm: float) -> None:
        self.image = Image.new("L", (width, height), 0)
        self.draw = ImageDraw.Draw(self.image)
        self.ppm = px_per_mm
        self.regions: dict[str, Box] = {}

    def mm(self, value: float) -> int:
        return max(1, round(value * self.ppm))


def shape_outline(
    shape: str, box: tuple[float, float, float, float], points: int = 240
) -> NDArray[np.float64]:
    """A closed outline (N x 2) of the shape inscribed in box."""
    x0, y0, x1, y1 = box
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    if shape in {"circle", "oval"}:
        t = np.linspace(0, 2 * np.pi, points, endpoint=False)
        return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)
    if shape == "octagon":
        t = np.deg2rad(22.5 + 45 * np.arange(8))
        return np.stack(
            [cx + rx * np.cos(t) / np.cos(np.pi / 8), cy + ry * np.sin(t) / np.cos(np.pi / 8)],
            axis=1,
        ).clip([x0, y0], [x1, y1])
    if shape == "triangle":
        return np.array([[cx, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    if shape == "rounded_rectangle":
        r = min(rx, ry) * 0.35
        corners = [
            (x1 - r, y0 + r, -90),
            (x1 - r, y1 - r, 0),
            (x0 + r, y1 - r, 90),
            (x0 + r, y0 + r, 180),
        ]
        arcs = []
        for ccx, ccy, start in corners:
            t = np.deg2rad(np.linspace(start, start + 90, 12))
            arcs.append(np.stack([ccx + r * np.cos(t), ccy + r * np.sin(t)], axis=1))
        return np.concatenate(arcs)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _inset(
    shape: str, box: tuple[float, float, float, float], by: float
) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    if shape == "triangle":  # the incentre moves; shrinking evenly keeps the rim parallel
        cx, cy = (x0 + x1) / 2, y0 + (y1 - y0) * 2 / 3
        k = 1 - by * 3.2 / (y1 - y0)
        return cx + (x0 - cx) * k, cy + (y0 - cy) * k, cx + (x1 - cx) * k, cy + (y1 - cy) * k
    return x0 + by, y0 + by, x1 - by, y1 - by


def _polyline(canvas: _Canvas, outline: NDArray[np.float64], width: int) -> None:
    points = [tuple(p) for p in outline.tolist()]
    canvas.draw.line([*points, points[0]], fill=255, width=width, joint="curve")


def _dashes(canvas: _Canvas, outline: NDArray[np.float64], width: int, dash: float) -> None:
    closed = np.vstack([outline, outline[:1]])
    dense = _resample(closed, dash / 4)
    for start in range(0, len(dense) - 4, 8):
        segment = [tuple(p) for p in dense[start : start + 5].tolist()]
        canvas.draw.line(segment, fill=255, width=width)


def _resample(path: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    lengths = np.r_[0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))]
    samples = np.arange(0, lengths[-1], max(step, 0.5))
    return np.stack(
        [np.interp(samples, lengths, path[:, 0]), np.interp(samples, lengths, path[:, 1])], axis=1
    )


def draw_border(
    canvas: _Canvas, shape: str, border: str, box: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """Draw the rim; return the box left inside it for text."""
    mm = canvas.mm
    outer = shape_outline(shape, box)
    if border == "single":
        _polyline(canvas, outer, mm(0.7))
        return _inset(shape, box, mm(1.6))
    if border == "dashed":
        _dashes(canvas, outer, mm(0.6), mm(2.2))
        _polyline(canvas, shape_outline(shape, _inset(shape, box, mm(1.3))), mm(0.35))
        return _inset(shape, box, mm(2.4))
    if border == "thick_thin":
        _polyline(canvas, outer, mm(1.3))
        _polyline(canvas, shape_outline(shape, _inset(shape, box, mm(1.9))), mm(0.35))
        return _inset(shape, box, mm(2.8))
    if border == "beaded":
        _polyline(canvas, outer, mm(0.6))
        ring = _resample(np.vstack([outer, outer[:1]]), 1)
        ring = shape_outline(shape, _inset(shape, box, mm(1.4)))
        beads = _resample(np.vstack([ring, ring[:1]]), mm(1.3))
        r = mm(0.3)
        for x, y in beads.tolist():
            canvas.draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
        _polyline(canvas, shape_outline(shape, _inset(shape, box, mm(2.3))), mm(0.35))
        return _inset(shape, box, mm(3.0))
    _polyline(canvas, outer, mm(0.7))  # double
    _polyline(canvas, shape_outline(shape, _inset(shape, box, mm(1.5))), mm(0.45))
    return _inset(shape, box, mm(2.6))


def _fit_font(
    face: str, text: str, max_width: float, max_height: float, spacing: float
) -> tuple[ImageFont.FreeTypeFont, float]:
    """The font at the largest size up to `max_height` at which `text` fits `max_width`, and
    the line's width. Sizes are fractional, so a line keeps its size in millimetres at every
    resolution: one design's impressions, a specimen scan and a photo, share their text's
    size, as the impressions of one rubber stamp do (whole-pixel sizes shrunk in 8% steps
    had a line's width differ by up to 9% between resolutions)."""
    f = font(face, max_height)
    width = f.getlength(text) * spacing
    if width > max_width:
        f = font(face, max_height * max_width / width)
        width = f.getlength(text) * spacing
    return f, width


def draw_text(
    canvas: _Canvas,
    text: str,
    face: str,
    centre: tuple[float, float],
    max_width: float,
    height: float,
    spacing: float = 1.0,
    region: str | None = None,
) -> Box:
    """Draw a line centred at `centre`, shrunk to fit `max_width`; spacing scales advances."""
    f, width = _fit_font(face, text, max_width, height, spacing)
    cx, cy = centre
    if spacing == 1.0:
        canvas.draw.text((cx, cy), text, font=f, fill=255, anchor="mm")
    else:
        x = cx - width / 2
        for char in text:
            advance = f.getlength(char)
            canvas.draw.text((x + advance * spacing / 2, cy), char, font=f, fill=255, anchor="mm")
            x += advance * spacing
    ascent, descent = f.getmetrics()
    box = (
        int(cx - width / 2),
        int(cy - (ascent + descent) / 2),
        int(cx + width / 2),
        int(cy + (ascent + descent) / 2),
    )
    if region:
        canvas.regions[region] = box
    return box


def draw_arc_text(
    canvas: _Canvas,
    text: str,
    face: str,
    path: NDArray[np.float64],
    height: float,
    spacing: float,
    region: str,
) -> None:
    """Characters along a path (left to right), each upright to the path's left normal."""
    f = font(face, height)
    lengths = np.r_[0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))]
    advances = [f.getlength(char) * spacing for char in text]
    total = sum(advances)
    if total > lengths[-1] * 0.95:
        f = font(face, height * lengths[-1] * 0.95 / total)
        advances = [f.getlength(char) * spacing for char in text]
        total = sum(advances)
    position = (lengths[-1] - total) / 2
    glyph_box = int(f.size * 2)
    xs, ys = [], []
    for char, advance in zip(text, advances, strict=True):
        at = position + advance / 2
        position += advance
        if char == " ":
            continue
        x, y = np.interp(at, lengths, path[:, 0]), np.interp(at, lengths, path[:, 1])
        i = min(int(np.searchsorted(lengths, at)), len(path) - 1)
        dx, dy = path[i] - path[max(i - 1, 0)]
        angle = math.degrees(math.atan2(dy, dx))
        glyph = Image.new("L", (glyph_box, glyph_box), 0)
        ImageDraw.Draw(glyph).text(
            (glyph_box / 2, glyph_box / 2), char, font=f, fill=255, anchor="mm"
        )
        glyph = glyph.rotate(-angle, resample=Image.Resampling.BILINEAR)
        corner = (int(x - glyph_box / 2), int(y - glyph_box / 2))
        canvas.image.paste(255, corner, glyph)
        xs.append(x)
        ys.append(y)
    if xs:
        pad = int(f.size) // 2
        canvas.regions[region] = (
            int(min(xs)) - pad,
            int(min(ys)) - pad,
            int(max(xs)) + pad,
            int(max(ys)) + pad,
        )


def draw_pictogram(canvas: _Canvas, mode: str, box: tuple[float, float, float, float]) -> None:
    """Plane, car, ship or train, drawn from simple shapes inside box."""
    x0, y0, x1, y1 = box
    side = min(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def p(u: float, v: float) -> tuple[float, float]:
        return cx + u * side / 2, cy + v * side / 2

    d = canvas.draw
    if mode == "air":
        d.polygon(
            [p(-0.95, -0.08), p(0.75, -0.1), p(0.98, 0), p(0.75, 0.1), p(-0.95, 0.08)], fill=255
        )
        d.polygon([p(-0.1, -0.08), p(0.25, -0.08), p(-0.25, -0.85), p(-0.45, -0.85)], fill=255)
        d.polygon([p(-0.1, 0.08), p(0.25, 0.08), p(-0.25, 0.85), p(-0.45, 0.85)], fill=255)
        d.polygon([p(-0.95, -0.05), p(-0.7, -0.05), p(-0.85, -0.4), p(-0.98, -0.4)], fill=255)
        d.polygon([p(-0.95, 0.05), p(-0.7, 0.05), p(-0.85, 0.4), p(-0.98, 0.4)], fill=255)
    elif mode == "land":
        d.rounded_rectangle((*p(-0.95, -0.1), *p(0.95, 0.4)), radius=side * 0.08, fill=255)
        d.polygon([p(-0.55, -0.1), p(-0.35, -0.55), p(0.4, -0.55), p(0.6, -0.1)], fill=255)
        d.polygon([p(-0.4, -0.15), p(-0.27, -0.45), p(-0.02, -0.45), p(-0.02, -0.15)], fill=0)
        d.polygon([p(0.08, -0.15), p(0.08, -0.45), p(0.33, -0.45), p(0.46, -0.15)], fill=0)
        for u in (-0.55, 0.55):
            d.ellipse((*p(u - 0.22, 0.2), *p(u + 0.22, 0.64)), fill=255)
            d.ellipse((*p(u - 0.09, 0.33), *p(u + 0.09, 0.51)), fill=0)
    elif mode == "sea":
        d.polygon([p(-0.95, 0.05), p(0.95, 0.05), p(0.7, 0.45), p(-0.75, 0.45)], fill=255)
        d.rectangle((*p(-0.5, -0.3), *p(0.35, 0.05)), fill=255)
        d.rectangle((*p(-0.05, -0.7), *p(0.15, -0.3)), fill=255)
        for u in (-0.35, -0.1, 0.15):
            d.ellipse((*p(u - 0.06, -0.2), *p(u + 0.06, -0.08)), fill=0)
        wave = [p(u, 0.62 + 0.06 * math.sin(u * 9)) for u in np.linspace(-0.95, 0.95, 30)]
        d.line(wave, fill=255, width=max(1, int(side * 0.05)))
    else:  # rail
        d.rounded_rectangle((*p(-0.8, -0.7), *p(0.8, 0.35)), radius=side * 0.18, fill=255)
        d.rectangle((*p(-0.6, -0.5), *p(-0.08, -0.12)), fill=0)
        d.rectangle((*p(0.08, -0.5), *p(0.6, -0.12)), fill=0)
        for u in (-0.45, 0.45):
            d.ellipse((*p(u - 0.15, 0.25), *p(u + 0.15, 0.55)), fill=255)
        d.line([p(-0.95, 0.62), p(0.95, 0.62)], fill=255, width=max(1, int(side * 0.05)))
        d.line([p(-0.7, 0.62), p(-0.9, 0.95)], fill=255, width=max(1, int(side * 0.04)))
        d.line([p(0.7, 0.62), p(0.9, 0.95)], fill=255, width=max(1, int(side * 0.04)))


def _top_pictogram(
    canvas: _Canvas, mode: str, x0: float, x1: float, top: float, size: float
) -> float:
    """Draw the transport pictogram centred at the top; return where the text below may start."""
    centre = (x0 + x1) / 2
    draw_pictogram(canvas, mode, (centre - size, top, centre + size, top + size))
    canvas.regions["pictogram"] = (
        int(centre - size),
        int(top),
        int(centre + size),
        int(top + size),
    )
    return top + size * 1.1


def format_date(design: StampDesign, date: dt.date) -> str:
    return date.strftime(design.date_format).upper()


def render_impression(
    design: StampDesign, date: dt.date, counter: int, px_per_mm: float
) -> Impression:
    """The impression of `design` inked with `date` and `counter`, at `px_per_mm`."""
    width_mm, height_mm = design.size_mm
    margin_mm = 1.0
    ppm = px_per_mm * SUPERSAMPLE
    canvas = _Canvas(
        round((width_mm + 2 * margin_mm) * ppm), round((height_mm + 2 * margin_mm) * ppm), ppm
    )
    box = (
        margin_mm * ppm,
        margin_mm * ppm,
        (margin_mm + width_mm) * ppm,
        (margin_mm + height_mm) * ppm,
    )
    inner = draw_border(canvas, design.shape, design.style.border, box)
    canvas.regions["border"] = tuple(int(v) for v in box)  # type: ignore[assignment]
    if design.style.layout == "arc" and design.shape in {"circle", "oval"}:
        _arc_layout(canvas, design, inner, date, counter)
    else:
        _stack_layout(canvas, design, inner, date, counter)
    return _finish(canvas, SUPERSAMPLE)


def _finish(canvas: _Canvas, factor: int) -> Impression:
    full = np.asarray(canvas.image, dtype=np.float32) / 255.0
    height, width = full.shape
    small = cv2.resize(full, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    regions = {name: tuple(int(v / factor) for v in box) for name, box in canvas.regions.items()}
    return Impression(mask=small, regions=regions)  # type: ignore[arg-type]


def _lines_for(
    design: StampDesign, date: dt.date, counter: int
) -> list[tuple[str, str, str, float]]:
    """(region, text, face, relative height) for the stacked lines of a design."""
    style, body = design.style, design.forgery.face or design.style.body_face
    title = design.forgery.face or style.title_face
    lines: list[tuple[str, str, str, float]] = []
    narrow = design.shape == "triangle"
    native = design.country.immigration_native
    if style.native_line and native and design.country.script and not narrow:
        lines.append(("native", native, design.country.script, 1.0))
    header = design.country.name
    if style.header and not narrow:
        header = f"{design.country.name} {style.header}"
    lines.append(("country", header, title, 0.9))
    lines.append(("bcp", design.bcp_name, body, 1.0))
    if style.direction_by == "word":
        lines.append(("direction", design.direction_word, title, 1.15))
    lines.append(("date", format_date(design, date), design.forgery.face or style.date_face, 1.25))
    counter_text = style.counter_format.format(n=counter)
    if style.security_box:
        counter_text = f"{counter_text}   {design.security_code}"
    lines.append(("counter", counter_text, body, 0.85))
    if narrow:  # a triangle is widest at its base: the long BCP line goes last
        lines.append(lines.pop(1))
    return lines


def _stack_layout(
    canvas: _Canvas,
    design: StampDesign,
    inner: tuple[float, float, float, float],
    date: dt.date,
    counter: int,
) -> None:
    x0, y0, x1, y1 = inner
    shape = design.shape
    if shape == "triangle":
        icon_h = (y1 - y0) * 0.16
        top = y0 + (y1 - y0) * 0.2
        if design.style.pictogram != "none":
            draw_pictogram(
                canvas,
                design.mode,
                ((x0 + x1) / 2 - icon_h, top, (x0 + x1) / 2 + icon_h, top + icon_h),
            )
            canvas.regions["pictogram"] = (
                int((x0 + x1) / 2 - icon_h),
                int(top),
                int((x0 + x1) / 2 + icon_h),
                int(top + icon_h),
            )
        y0 = top + icon_h * 1.15
        y1 -= (y1 - y0) * 0.02
    elif shape in {"circle", "oval", "octagon"}:
        pad_x, pad_y = (x1 - x0) * 0.12, (y1 - y0) * 0.1
        x0, x1, y0, y1 = x0 + pad_x, x1 - pad_x, y0 + pad_y, y1 - pad_y
    lines = _lines_for(design, date, counter)
    pictogram = "none" if shape == "triangle" else design.style.pictogram
    if pictogram == "left" and shape in {"circle", "oval", "octagon"}:
        pictogram = "top"
    if pictogram == "top":
        y0 = _top_pictogram(canvas, design.mode, x0, x1, y0, (y1 - y0) * 0.2)
    elif pictogram == "left":
        icon_w = min((x1 - x0) * 0.22, (y1 - y0) * 0.45)
        draw_pictogram(
            canvas,
            design.mode,
            (x0, (y0 + y1) / 2 - icon_w / 2, x0 + icon_w, (y0 + y1) / 2 + icon_w / 2),
        )
        canvas.regions["pictogram"] = (
            int(x0),
            int((y0 + y1) / 2 - icon_w / 2),
            int(x0 + icon_w),
            int((y0 + y1) / 2 + icon_w / 2),
        )
        x0 += icon_w * 1.08
    total = sum(weight for *_, weight in lines)
    unit = (y1 - y0) / (total * 1.18)
    y = y0
    spacing = design.forgery.spacing
    for region, text, face, weight in lines:
        line_h = unit * weight * 1.18
        cy = y + line_h / 2
        half = _half_width(shape, inner, cy, x0, x1)
        box = draw_text(
            canvas, text, face, ((x0 + x1) / 2, cy), half * 2 * 0.94, unit * weight, spacing, region
        )
        if region == "date" and design.style.date_box:
            pad = canvas.mm(0.6)
            canvas.draw.rectangle(
                (box[0] - pad * 2, box[1] - pad, box[2] + pad * 2, box[3] + pad),
                outline=255,
                width=canvas.mm(0.3),
            )
            canvas.regions["date"] = (
                box[0] - pad * 2,
                box[1] - pad,
                box[2] + pad * 2,
                box[3] + pad,
            )
        y += line_h


def _half_width(
    shape: str, inner: tuple[float, float, float, float], y: float, x0: float, x1: float
) -> float:
    """Half the usable width at height y inside the shape's inner rim."""
    ix0, iy0, ix1, iy1 = inner
    half = (x1 - x0) / 2
    if shape in {"circle", "oval", "octagon"}:
        ry, rx = (iy1 - iy0) / 2, (ix1 - ix0) / 2
        v = min(abs(y - (iy0 + iy1) / 2) / ry, 0.99)
        half = min(half, rx * math.sqrt(1 - v * v))
    elif shape == "triangle":
        half = min(half, (ix1 - ix0) / 2 * (y - iy0) / (iy1 - iy0) - (ix1 - ix0) * 0.06)
    return max(half, (x1 - x0) * 0.15)


def _arc_layout(
    canvas: _Canvas,
    design: StampDesign,
    inner: tuple[float, float, float, float],
    date: dt.date,
    counter: int,
) -> None:
    x0, y0, x1, y1 = inner
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    band = min(rx, ry) * 0.2
    title = design.forgery.face or design.style.title_face
    body = design.forgery.face or design.style.body_face
    spacing = design.forgery.spacing

    def arc(start: float, stop: float) -> NDArray[np.float64]:
        t = np.deg2rad(np.linspace(start, stop, 180))
        return np.stack(
            [cx + (rx - band * 0.75) * np.cos(t), cy + (ry - band * 0.75) * np.sin(t)], axis=1
        )

    header = (
        f"{design.country.name} {design.style.header}".strip()
        if design.style.header
        else design.country.name
    )
    draw_arc_text(canvas, header, title, arc(200, 340), band * 0.95, spacing, "country")
    draw_arc_text(canvas, design.bcp_name, body, arc(160, 20), band * 0.95, spacing, "bcp")
    ring = shape_outline(
        design.shape, (x0 + band * 1.6, y0 + band * 1.6, x1 - band * 1.6, y1 - band * 1.6)
    )
    _polyline(canvas, ring, canvas.mm(0.3))
    centre = (x0 + band * 1.9, y0 + band * 1.9, x1 - band * 1.9, y1 - band * 1.9)
    lines = [
        line for line in _lines_for(design, date, counter) if line[0] not in {"country", "bcp"}
    ]
    _centre_stack(canvas, design, centre, lines, spacing)


def _centre_stack(
    canvas: _Canvas,
    design: StampDesign,
    box: tuple[float, float, float, float],
    lines: list[tuple[str, str, str, float]],
    spacing: float,
) -> None:
    x0, y0, x1, y1 = box
    if design.style.pictogram != "none":
        y0 = _top_pictogram(canvas, design.mode, x0, x1, y0, (y1 - y0) * 0.2)
    total = sum(weight for *_, weight in lines)
    unit = (y1 - y0) / (total * 1.15)
    y = y0
    for region, text, face, weight in lines:
        line_h = unit * weight * 1.15
        cy = y + line_h / 2
        half = _half_width(design.shape, box, cy, x0, x1)
        draw_text(
            canvas, text, face, ((x0 + x1) / 2, cy), half * 2 * 1.1, unit * weight, spacing, region
        )
        y += line_h
