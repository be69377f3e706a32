"""The PDF report of a check, for the case file: offline fonts, images embedded."""

from __future__ import annotations

import io
from contextlib import suppress
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import cv2
import numpy as np
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.comparisons import line_finding, true_size
from app.core.models import Check, Specimen
from app.core.storage import ObjectNotFoundError, ObjectStore
from app.queries import QueryNotFoundError, query_photo
from app.search import CAVEAT_TEXT
from vision.imageio import decode_image, encode_jpeg
from vision.normalise import resize_max

FONTS = Path("/usr/share/fonts/truetype/dejavu")
DECISIONS = {
    "match": "Match: the first result is the genuine specimen this stamp corresponds to",
    "uncertain": "Uncertain: possible specimens, none certain",
    "no_match": "No genuine specimen matches",
}


def _fonts() -> tuple[str, str]:
    """DejaVu from Debian's fonts-dejavu-core (installed by make setup); never downloaded."""
    regular, bold = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
    if not regular.is_file():
        return "Helvetica", "Helvetica-Bold"
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
    return "DejaVuSans", "DejaVuSans-Bold"


def _lines_read(lines: list[dict[str, Any]]) -> str:
    """Each line as the specimen and the photo read it, and what that shows."""
    return "; ".join(
        f"{escape(str(line.get('specimen')))} / {escape(str(line.get('photo') or '-'))} "
        f"({line_finding(line)})"
        for line in lines
    )


def _picture(data: bytes, width_mm: float, outline: list[list[float]] | None = None) -> Image:
    """An image for the report, at most 900 px; `outline` (photo pixels) drawn in green."""
    rgb, scale = resize_max(decode_image(data).rgb, 900)
    if outline:
        rgb = rgb.copy()
        corners = np.round(np.array(outline, dtype=np.float64) * scale).astype(np.int32)
        cv2.polylines(rgb, [corners], True, (0, 170, 80), max(2, round(max(rgb.shape) / 250)))
    height = width_mm * rgb.shape[0] / rgb.shape[1]
    return Image(io.BytesIO(encode_jpeg(rgb, quality=85)), width=width_mm * mm, height=height * mm)


def render_check(check: Check, store: ObjectStore, specimens: dict[int, Specimen]) -> bytes:
    regular, bold = _fonts()
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontName=regular, fontSize=9.5)
    head = ParagraphStyle("head", parent=styles["Heading1"], fontName=bold, fontSize=16)
    sub = ParagraphStyle("sub", parent=styles["Heading2"], fontName=bold, fontSize=12)
    story: list[Any] = [
        Paragraph(f"StampLib check {check.id}", head),
        Paragraph(
            f"Made by {escape(check.created_by)} on {check.created_at:%Y-%m-%d %H:%M} UTC.", body
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"Decision: {DECISIONS.get(check.decision, check.decision)} "
            f"(confidence {check.confidence:.0%}).",
            sub,
        ),
        *(Paragraph(escape(CAVEAT_TEXT.get(c, c)), body) for c in check.caveats),
    ]
    pictures = []
    if check.query_kept:
        with suppress(QueryNotFoundError):
            photo = _picture(query_photo(store, check.query_id), 80, check.outline)
            label = "Photo examined" + (
                " (green: where the first result was found)" if check.outline else ""
            )
            pictures.append((label, photo))
    first = check.matches[0] if check.matches else None
    if first and (specimen := specimens.get(int(first["specimen_id"]))) is not None:
        with suppress(ObjectNotFoundError):
            specimen_image = _picture(store.get(specimen.image_key), 80)
            pictures.append(("First result: genuine specimen", specimen_image))
    if pictures:
        story.append(
            Table(
                [[Paragraph(label, body) for label, _ in pictures], [p for _, p in pictures]],
                style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]),
            )
        )
    if not check.query_kept:
        story.append(
            Paragraph(
                "The photo examined passed its retention period and was deleted; "
                "the results below were kept.",
                body,
            )
        )
    story += [Spacer(1, 4 * mm), Paragraph("Ranked genuine specimens", sub), _matches(check, body)]
    if check.comparison:
        compared = check.comparison.get("specimen_id")
        specimen = specimens.get(int(compared)) if compared is not None else None
        story += _comparison(check.comparison, store, body, sub, specimen)
    if check.note:
        story += [Paragraph("Note", sub), Paragraph(escape(check.note), body)]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"StampLib check {check.id}",
        author="StampLib",
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
    )
    document.build(story)
    return buffer.getvalue()


def _matches(check: Check, body: ParagraphStyle) -> Table:
    rows: list[list[Any]] = [
        ["#", "Country", "Border crossing point", "Dir.", "Mode", "Valid", "Score", "Verified"]
    ]
    for rank, m in enumerate(check.matches[:5], start=1):
        validity = f"{m.get('valid_from') or '…'} – {m.get('valid_to') or ''}"
        rows.append(
            [
                rank,
                m["country"],
                Paragraph(escape(str(m["bcp_name"])), body),
                m["direction"],
                m["mode"],
                validity,
                f"{m['score']:.2f}",
                "yes" if m.get("verified") else "no",
            ]
        )
    table = Table(
        rows,
        repeatRows=1,
        colWidths=[8 * mm, 18 * mm, 55 * mm, 14 * mm, 14 * mm, 38 * mm, 14 * mm, 17 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), _fonts()[0]),
                ("FONTNAME", (0, 0), (-1, 0), _fonts()[1]),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e7ebf1")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _comparison(
    comparison: dict[str, Any],
    store: ObjectStore,
    body: ParagraphStyle,
    sub: ParagraphStyle,
    specimen: Specimen | None,
) -> list[Any]:
    m = comparison.get("measurements", {})
    differing = ", ".join(comparison.get("differing", [])) or "none"
    parts: list[Any] = [
        Spacer(1, 4 * mm),
        Paragraph(
            f"Comparison with specimen {comparison.get('specimen_id')}: "
            f"{comparison.get('verdict')}",
            sub,
        ),
        Paragraph(
            f"Regions that differ: {differing}. Scale against the specimen image "
            f"{m.get('scale')}, rotation "
            f"{m.get('rotation_deg')}°, aspect-ratio deviation {m.get('aspect_deviation')}, "
            f"ink colour ΔE {m.get('ink_delta_e')} (hue turned {m.get('ink_angle_deg')}°), "
            f"text fidelity {m.get('text_fidelity')} against the frame's "
            f"{m.get('frame_fidelity')}, {m.get('inliers')} matching points.",
            body,
        ),
        Paragraph(f"True size. {true_size(specimen)}", body),
    ]
    if scale := m.get("text_scale"):
        parts.append(
            Paragraph(
                f"Text size against the specimen: line length {scale[0]}, letter height "
                f"{scale[1]}.",
                body,
            )
        )
    if dates := m.get("dates"):
        parts.append(
            Paragraph(
                f"Date as read: specimen {escape(str(dates[0]))}, photo {escape(str(dates[1]))} "
                f"(format departs by {m.get('date_format_departure')}).",
                body,
            )
        )
    if lines := m.get("lines_read"):
        parts.append(
            Paragraph(
                f"Text as read, specimen / photo (a photo's reading often misses letters): "
                f"{_lines_read(lines)}.",
                body,
            )
        )
    comparison_id = str(comparison.get("comparison_id", ""))
    pictures = []
    for name, label in (
        ("overlay", "Overlay (specimen magenta, photo green)"),
        ("heatmap", "Differences"),
    ):
        try:
            data = store.get(f"comparisons/{comparison_id}/{name}.jpg")
        except ObjectNotFoundError:
            continue
        pictures.append((label, _picture(data, 80)))
    if pictures:
        parts.append(
            Table([[Paragraph(label, body) for label, _ in pictures], [p for _, p in pictures]])
        )
    return parts
