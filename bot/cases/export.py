"""One case written out for a referral: a JSON document, and the same as a PDF.

The PDF is laid out with fpdf2 and shaped with HarfBuzz (uharfbuzz), using
Noto fonts for Latin, Burmese, Khmer, Lao and Thai, so a worker's own words
print correctly in their script. The worker's contact details go into the
export only when they agreed to their report being shared; without that, the
messages and notes that carry a phone number are left out as well (the
worker typed their number in one, the bot's summary repeated it). The worker's
photos are drawn in the PDF beside their SHA-256, which shows that the
evidence is what the hotline received. The PDF's own words are in the
language of the staff member who exports it (a referral to a Thai office is
printed in Thai); the JSON keeps codes.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from PIL import Image

from bot.cases import contact
from bot.cases.contact import PhoneNumbers
from bot.cases.queries import CaseFile, TimelineEntry
from bot.labels import word

# Translates one of the console's messages (see api/console_wording.py).
Say = Callable[..., str]

# Regular and bold of each; the first is the main font, the others are
# tried in turn for characters it lacks.
FONT_FAMILIES = {
    "noto": "NotoSans",
    "noto-my": "NotoSansMyanmar",
    "noto-km": "NotoSansKhmer",
    "noto-lo": "NotoSansLao",
    "noto-th": "NotoSansThai",
}


# More than any phone camera takes; a photo claiming more is not decoded.
MAX_PICTURE_PIXELS = 60_000_000
# 90 mm at 300 dots an inch, the most a print of it shows.
PRINT_PIXELS = 1063


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _entry(entry: TimelineEntry, *, withheld: bool) -> dict[str, Any]:
    return {
        "at": _time(entry.at),
        "type": entry.type,
        "message_kind": entry.message_kind,
        "text": "" if withheld else entry.text,
        "withheld": withheld,
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
    phones: PhoneNumbers,
    with_contact: bool,
) -> dict[str, Any]:
    """The case as a document. `with_contact`: whether the worker's contact
    details may be in it (for a referral, only if the worker agreed to
    sharing; staff who handle the case see them)."""
    case = case_file.case
    known = [contact.phone_of(case.contact)]

    def withheld(entry: TimelineEntry) -> bool:
        return not with_contact and bool(entry.text) and phones.carries(entry.text, known)

    return {
        "reference": case.reference,
        "kind": case.kind,
        "status": case.status,
        "language": case.language,
        "channel": case.channel,
        "province": case.province,
        "in_danger": case.in_danger,
        "consent_to_share": case.consent_to_share,
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
        "contact": case.contact if with_contact else None,
        "location": case_file.location if with_contact else None,
        "timeline": [_entry(entry, withheld=withheld(entry)) for entry in case_file.timeline],
        "exported_at": _time(exported_at),
        "exported_by": exported_by,
    }


def as_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _text(value: Any, _: Say) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return json.dumps(value, ensure_ascii=False)


class _CasePdf(FPDF):
    def __init__(self, fonts_dir: Path, reference: str, say: Say) -> None:
        super().__init__(format="A4")
        self._reference = reference
        self.say = say
        for family, stem in FONT_FAMILIES.items():
            self.add_font(family, "", str(fonts_dir / f"{stem}-Regular.ttf"))
            self.add_font(family, "B", str(fonts_dir / f"{stem}-Bold.ttf"))
        self.set_fallback_fonts([family for family in FONT_FAMILIES if family != "noto"])
        self.set_text_shaping(True)
        self.set_auto_page_break(True, margin=15)
        self.set_title(say("Case %(reference)s", reference=reference))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("noto", size=8)
        _ = self.say
        footer = _(
            "%(reference)s · confidential · page %(page)s",
            reference=self._reference,
            page=self.page_no(),
        )
        self.cell(0, 6, footer, align="C")

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
        self.multi_cell(0, 5.5, _text(value, self.say), new_x="LMARGIN", new_y="NEXT")


def _event_detail(entry: dict[str, Any], _: Say) -> str | None:
    """What an event did, in words. An assignment's staff ids mean nothing to
    the reader of a referral (the case's current assignee is named above)."""
    detail = entry["detail"] or {}
    if entry["event"] == "status":
        before = _(word("status", detail.get("from") or ""))
        return f"{before} → {_(word('status', detail.get('to') or ''))}"
    if entry["event"] == "reported":
        return f"{detail.get('channel', '')} · {_(word('language', detail.get('language') or ''))}"
    if entry["event"] == "assigned":
        return None
    return _text(detail, _) if detail else None


def _contact(contact: dict[str, Any] | None, _: Say) -> str:
    """The number the worker gave, or the way they chose to be reached."""
    if not contact:
        return "-"
    way = str(contact.get("by") or "")
    return str(contact.get("phone") or (_(word("contact", way)) if way else "-"))


def _printable(picture: bytes) -> Image.Image:
    """The photo at print size, checked by its header before it is decoded:
    a small file can claim billions of pixels (a decompression bomb) and
    would take the app's memory with it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(picture))
        if image.width * image.height > MAX_PICTURE_PIXELS:
            raise ValueError(f"{image.width}x{image.height} pixels is too many to draw")
        # JPEGs are decoded straight at the smaller size.
        image.thumbnail((PRINT_PIXELS, PRINT_PIXELS))
    return image


def _draw(pdf: _CasePdf, picture: bytes) -> None:
    """A worker's photo, at most 90 mm wide; one that cannot be read is listed only."""
    try:
        printable = _printable(picture)
        pdf.image(printable, x=pdf.l_margin + 6, w=90, keep_aspect_ratio=True)
    except (OSError, ValueError, RuntimeError, SyntaxError, Image.DecompressionBombError):
        pdf.set_x(pdf.l_margin + 6)
        _ = pdf.say
        pdf.multi_cell(0, 5, _("(this image could not be drawn)"), new_x="LMARGIN", new_y="NEXT")


def as_pdf(
    document: dict[str, Any],
    *,
    fonts_dir: Path,
    images: Mapping[int, bytes] | None = None,
    say: Say,
) -> bytes:
    """The document laid out for print; `images` (attachment id -> bytes) are drawn
    in place; `say` translates the PDF's own words (the exporter's console language)."""
    _ = say
    images = images or {}
    reference = str(document["reference"] or "case")
    pdf = _CasePdf(fonts_dir, reference, say)
    pdf.add_page()
    pdf.set_font("noto", "B", 16)
    pdf.multi_cell(
        0, 9, _("Case %(reference)s", reference=reference), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("noto", size=10)
    for label, value in (
        (_("What happened"), _(word("kind", document["kind"]))),
        (_("Status"), _(word("status", document["status"]))),
        (_("Reported"), document["reported_at"]),
        (_("Province"), document["province"]),
        (_("Language"), _(word("language", document["language"]))),
        (_("Channel"), document["channel"]),
        (_("In danger when reporting"), document["in_danger"]),
        (_("Agreed to sharing"), document["consent_to_share"]),
        (_("Assigned to"), document["assigned_to"]),
        (_("Exported"), document["exported_at"]),
        (_("Exported by"), document["exported_by"]),
    ):
        pdf.line_of(label, value)

    pdf.heading(
        _(
            "Forced-labour indicators (ILO, source %(source)s)",
            source=document["indicators_source"],
        )
    )
    names = [_(word("indicator", item["key"])) for item in document["indicators"]] or [
        _("none identified")
    ]
    pdf.multi_cell(0, 5.5, "; ".join(names), new_x="LMARGIN", new_y="NEXT")

    pdf.heading(_("The worker's answers"))
    for question, answer in (document["answers"] or {}).items():
        pdf.line_of(_(word("answer", str(question))), answer)

    withheld_note = _("Withheld: the worker did not agree to their details being shared.")
    pdf.heading(_("Contact"))
    if document["consent_to_share"]:
        pdf.line_of(_("How staff may contact them"), _contact(document["contact"], say))
        pdf.line_of(_("Shared location"), document["location"])
    else:
        pdf.multi_cell(0, 5.5, withheld_note, new_x="LMARGIN", new_y="NEXT")

    pdf.heading(_("Timeline"))
    for entry in document["timeline"]:
        staff = entry["staff"]
        if entry["type"] == "inbound":
            who = _("worker")
        elif entry["type"] == "outbound":
            who = _("staff: %(name)s", name=staff) if staff else _("hotline")
        elif entry["type"] == "note":
            who = _("internal note by %(name)s", name=staff or _("staff"))
        elif entry["type"] == "event":
            who = _(
                "%(event)s by %(name)s",
                event=_(word("event", entry["event"])),
                name=staff or _("hotline"),
            )
        else:
            who = entry["type"]
        pdf.set_font("noto", "B", 9)
        pdf.multi_cell(0, 5, f"{entry['at']}  {who}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("noto", size=10)
        body = entry["text"] if entry["type"] != "event" else _event_detail(entry, say)
        if entry["withheld"]:
            body = withheld_note
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
                _(
                    "file %(id)s: %(type)s, %(size)s bytes, SHA-256 %(sha256)s",
                    id=attachment["id"],
                    type=attachment["content_type"],
                    size=attachment["size"],
                    sha256=attachment["sha256"],
                ),
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.set_font("noto", size=10)
    return bytes(pdf.output())
