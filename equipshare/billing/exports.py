"""Statement PDF, CSV and XLSX files.

CSV/XLSX cells that a spreadsheet would read as a formula (starting with = + - @ tab or
carriage return) get a leading apostrophe; amounts are written as numbers, never as text.
The PDF uses ReportLab's built-in CJK CID font (STSong-Light): Chinese renders on any machine
without installing fonts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from equipshare.timeutil import format_local

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PDF_FONT = "STSong-Light"

KIND_LABELS = {
    "usage": _l("Usage"),
    "late_cancel": _l("Late cancellation fee"),
    "no_show": _l("No-show fee"),
    "adjustment": _l("Correction"),
}
MODE_LABELS = {
    "actual": _l("Actual usage"),
    "max_booked_actual": _l("Booked or actual time, whichever is longer"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def yuan(fen: int) -> Decimal:
    """Fen as an exact yuan number for files (not a float, not text)."""
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def hours(minutes: int) -> Decimal:
    return (Decimal(int(minutes)) / 60).quantize(Decimal("0.01"))


def cell_safe(value):
    """Neutralise spreadsheet formula injection in text cells."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(header: Sequence, rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell_safe(str(h)) for h in header])
    for row in rows:
        writer.writerow([cell_safe(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _sheet_title(title: str, used: set[str]) -> str:
    clean = "".join(c for c in title if c not in '[]:*?/\\').strip("'") or "Sheet"
    clean = clean[:28]
    candidate, n = clean, 1
    while candidate in used:
        n += 1
        candidate = f"{clean[:25]}-{n}"
    used.add(candidate)
    return candidate


def to_xlsx(sheets: Sequence[tuple[str, Sequence, Iterable[Sequence]]]) -> bytes:
    """``sheets``: (title, header, rows). Decimal amounts become numeric cells with two decimals."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(_sheet_title(title, used))
        sheet.append([cell_safe(str(h)) for h in header])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([cell_safe(v) for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula
                elif isinstance(cell.value, Decimal):
                    cell.number_format = "0.00"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- statements -------------------------------------------------------------------------------------------


def statement_header() -> list[str]:
    return [_("No."), _("Service date"), _("Instrument"), _("Booking"), _("Item"), _("Hours"), _("Samples"),
            _("Fee (CNY)"), _("Voucher (CNY)"), _("Payable (CNY)")]


def statement_rows(statement, name_of) -> list[list]:
    rows = [[line.line_no, format_local(line.service_at, "%Y-%m-%d"), name_of(line), f"#{line.booking_id}",
             kind_label(line.kind), hours(line.billable_minutes), line.samples, yuan(line.amount_fen),
             yuan(line.voucher_fen), yuan(line.firm_fen)] for line in statement.lines]
    rows.append(["", "", _("Total"), "", "", "", "", yuan(statement.subtotal_fen), yuan(statement.voucher_fen),
                 yuan(statement.due_fen)])
    return rows


def statement_csv(statement, name_of) -> bytes:
    return to_csv(statement_header(), statement_rows(statement, name_of))


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))


def statement_pdf(statement, name_of, platform_name: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    title_style = ParagraphStyle("title", fontName=PDF_FONT, fontSize=16, leading=22)
    text_style = ParagraphStyle("text", fontName=PDF_FONT, fontSize=10, leading=14)
    cell_style = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=8.5, leading=11)

    def para(text, style=text_style):
        from xml.sax.saxutils import escape

        return Paragraph(escape(str(text)), style)

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm, title=f"{_('Statement')} {statement.number}",
                            author=platform_name)
    period = f"{statement.period_year}-{statement.period_month:02d}"
    story = [
        para(f"{platform_name} · {_('Statement')} {statement.number}", title_style),
        Spacer(1, 4 * mm),
        para(f"{_('Customer')}: {statement.org_name}"),
        para(f"{_('Unified social credit code')}: {statement.org_credit_code or '—'}"),
        para(f"{_('Period')}: {period}    {_('Issued')}: {format_local(statement.issued_at)}"),
        Spacer(1, 5 * mm),
    ]
    data = [[para(h, cell_style) for h in statement_header()]]
    for row in statement_rows(statement, name_of):
        data.append([para(v, cell_style) for v in row])
    widths = [10 * mm, 22 * mm, 70 * mm, 18 * mm, 35 * mm, 16 * mm, 16 * mm, 28 * mm, 28 * mm, 28 * mm]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f8f9fa")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (5, 1), (-1, -1), "RIGHT"),
    ]))
    story += [table, Spacer(1, 5 * mm),
              para(f"{_('Subtotal')}: ¥{yuan(statement.subtotal_fen):,}"),
              para(f"{_('Innovation voucher deduction')}: ¥{yuan(statement.voucher_fen):,}"),
              para(f"{_('Amount due')}: ¥{yuan(statement.due_fen):,}", title_style)]
    doc.build(story)
    return buffer.getvalue()
