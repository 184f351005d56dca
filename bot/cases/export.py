"""One case written out for a referral: a JSON document, and the same as a PDF.

The PDF is laid out with fpdf2 and shaped with HarfBuzz (uharfbuzz), using
Noto fonts for Latin, Burmese, Khmer, Lao and Thai, so a worker's own words
print correctly in their script. The worker's contact details go into the
export only when they agreed to their report being shared. The worker's
photos are drawn in the PDF beside their SHA-256, which shows that the
evidence is what the hotline received.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF

from bot.cases.staff import CaseFile, TimelineEntry

# Regular and bold of each; the first is the main font, the others are
# tried in turn for characters it lacks.
FONT_FAMILIES = {
    "noto": "NotoSans",
    "noto-my": "NotoSansMyanmar",
    "noto-km": "NotoSansKhmer",
    "noto-lo": "NotoSansLao",
    "noto-th": "NotoSansThai",
}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _entry(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "at": _time(entry.at),
        "type": entry.type,
        "message_kind": entry.message_kind,
        "text": entry.text,
        "staff": entry.staff_name,
        "event": entry.event,
        "detail": entry.detail,
        "attachments": [
            {
                "id": ref.id,
                "content_type": ref.content_type,
                "size": ref.size,
                "sha256": ref.sha256,
            }
            for ref in entry.attachments
        ],
    }


def as_document(
    case_file: CaseFile,
    *,
    indicator_names: dict[str, str],
    indicator_source: str,
    exported_by: str,
    exported_at: datetime,
) -> dict[str, Any]:
    case = case_file.case
    shared = case.consent_to_share
    return {
        "reference": case.reference,
        "kind": case.kind,
        "status": case.status,
        "language": case.language,
        "channel": case.channel,
        "province": case.province,
        "in_danger": case.in_danger,
        "consent_to_share": shared,
        "reported_at": _time(case.created_at),
        "closed_at": _time(case.closed_at),
        "assigned_to": case_file.assigned_name,
        # Leads for a caseworker (ILO indicators, content brief source key),
        # not a legal finding.
        "indicators": [
            {"key": key, "name": indicator_names.get(key, key)} for key in case.indicators
        ],
        "indicators_source": indicator_source,
        "answers": case.answers,
        "contact": case.contact if shared else None,
        "location": case_file.location if shared else None,
        "timeline": [_entry(entry) for entry in case_file.timeline],
        "exported_at": _time(exported_at),
        "exported_by": exported_by,
    }


def as_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, ensure_ascii=False)


class _CasePdf(FPDF):
    def __init__(self, fonts_dir: Path, reference: str) -> None:
        super().__init__(format="A4")
        self._reference = reference
        for family, stem in FONT_FAMILIES.items():
            self.add_font(family, "", str(fonts_dir / f"{stem}-Regular.ttf"))
            self.add_font(family, "B", str(fonts_dir / f"{stem}-Bold.ttf"))
        self.set_fallback_fonts([family for family in FONT_FAMILIES if family != "noto"])
        self.set_text_shaping(True)
        self.set_auto_page_break(True, margin=15)
        self.set_title(f"Case {reference}")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("noto", size=8)
        self.cell(0, 6, f"{self._reference} · confidential · page {self.page_no()}", align="C")

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("noto", "B", 12)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font("noto", size=10)

    def line_of(self, label: str, value: Any) -> None:
        self.set_font("noto", "B", 10)
        self.multi_cell(0, 5.5, label, new_x="LMARGIN", new_y="NEXT")
        self.set_font("noto", size=10)
        self.set_x(self.l_margin + 6)
        self.multi_cell(0, 5.5, _text(value), new_x="LMARGIN", new_y="NEXT")


def _draw(pdf: FPDF, picture: bytes) -> None:
    """A worker's photo, at most 90 mm wide; one that cannot be read is listed only."""
    try:
        pdf.image(io.BytesIO(picture), x=pdf.l_margin + 6, w=90, keep_aspect_ratio=True)
    except (OSError, ValueError, RuntimeError, SyntaxError):
        pdf.set_x(pdf.l_margin + 6)
        pdf.multi_cell(0, 5, "(this image could not be drawn)", new_x="LMARGIN", new_y="NEXT")


def as_pdf(
    document: dict[str, Any], *, fonts_dir: Path, images: Mapping[int, bytes] | None = None
) -> bytes:
    """The document laid out for print; `images` (attachment id -> bytes) are drawn in place."""
    images = images or {}
    reference = str(document["reference"] or "case")
    pdf = _CasePdf(fonts_dir, reference)
    pdf.add_page()
    pdf.set_font("noto", "B", 16)
    pdf.multi_cell(0, 9, f"Case {reference}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=10)
    for label, key in (
        ("What happened", "kind"),
        ("Status", "status"),
        ("Reported", "reported_at"),
        ("Province", "province"),
        ("Language", "language"),
        ("Channel", "channel"),
        ("In danger when reporting", "in_danger"),
        ("Agreed to sharing", "consent_to_share"),
        ("Assigned to", "assigned_to"),
        ("Exported", "exported_at"),
        ("Exported by", "exported_by"),
    ):
        pdf.line_of(label, document[key])

    pdf.heading(f"Forced-labour indicators (ILO, source {document['indicators_source']})")
    names = [item["name"] for item in document["indicators"]] or ["none identified"]
    pdf.multi_cell(0, 5.5, "; ".join(names), new_x="LMARGIN", new_y="NEXT")

    pdf.heading("The worker's answers")
    for question, answer in (document["answers"] or {}).items():
        pdf.line_of(str(question), answer)

    pdf.heading("Contact")
    if document["consent_to_share"]:
        pdf.line_of("Contact", document["contact"])
        pdf.line_of("Shared location", document["location"])
    else:
        pdf.multi_cell(
            0,
            5.5,
            "Withheld: the worker did not agree to their details being shared.",
            new_x="LMARGIN",
            new_y="NEXT",
        )

    pdf.heading("Timeline")
    for entry in document["timeline"]:
        who = {
            "inbound": "worker",
            "outbound": f"staff: {entry['staff']}" if entry["staff"] else "hotline",
            "note": f"internal note by {entry['staff'] or 'staff'}",
            "event": f"{entry['event']} by {entry['staff'] or 'hotline'}",
        }.get(entry["type"], entry["type"])
        pdf.set_font("noto", "B", 9)
        pdf.multi_cell(0, 5, f"{entry['at']}  {who}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("noto", size=10)
        body = entry["text"] if entry["type"] != "event" else _text(entry["detail"])
        if body:
            pdf.set_x(pdf.l_margin + 6)
            pdf.multi_cell(0, 5.5, body, new_x="LMARGIN", new_y="NEXT")
        for attachment in entry["attachments"]:
            picture = images.get(attachment["id"])
            if picture is not None:
                _draw(pdf, picture)
            pdf.set_x(pdf.l_margin + 6)
            pdf.set_font("noto", size=8)
            pdf.multi_cell(
                0,
                4.5,
                f"file {attachment['id']}: {attachment['content_type']}, "
                f"{attachment['size']} bytes, SHA-256 {attachment['sha256']}",
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.set_font("noto", size=10)
    return bytes(pdf.output())
