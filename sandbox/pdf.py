"""Hand-written PDF and ZPL output for shipment labels and dispatch protocols.

The PDFs are deliberately small and plain: PDF 1.4, one uncompressed content stream per page,
the standard Helvetica fonts (no embedding), so ``pdftotext`` reads the text back. Polish letters
outside WinAnsi are mapped through an encoding ``/Differences`` array to their Adobe glyph
names, which keeps them extractable. Page sizes are in PostScript points.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

PAGE_SIZES: dict[str, tuple[int, int]] = {"A4": (595, 842), "A6": (298, 420)}

# Codes 128..143 are reassigned to the Polish letters WinAnsi lacks.
POLISH_GLYPHS = (
    ("ą", "aogonek"),
    ("Ą", "Aogonek"),
    ("ć", "cacute"),
    ("Ć", "Cacute"),
    ("ę", "eogonek"),
    ("Ę", "Eogonek"),
    ("ł", "lslash"),
    ("Ł", "Lslash"),
    ("ń", "nacute"),
    ("Ń", "Nacute"),
    ("ś", "sacute"),
    ("Ś", "Sacute"),
    ("ź", "zacute"),
    ("Ź", "Zacute"),
    ("ż", "zdotaccent"),
    ("Ż", "Zdotaccent"),
)
POLISH_CODES = {char: 128 + i for i, (char, _) in enumerate(POLISH_GLYPHS)}
DIFFERENCES = "[128 " + " ".join(f"/{glyph}" for _, glyph in POLISH_GLYPHS) + "]"


def encode_text(text: str) -> bytes:
    """A PDF literal string body: our single-byte encoding, with escapes, ASCII-only output."""
    out = bytearray()
    for char in text:
        code = POLISH_CODES.get(char)
        if code is None:
            try:
                code = char.encode("cp1252")[0]
            except UnicodeEncodeError:
                code = ord("?")
        if char in "()\\":
            out += b"\\" + char.encode()
        elif 32 <= code < 127:
            out.append(code)
        else:
            out += f"\\{code:03o}".encode()
    return bytes(out)


@dataclass
class Page:
    """One page: a list of content-stream operators."""

    width: int
    height: int
    ops: list[bytes] = field(default_factory=list)

    def text(self, x: float, y: float, value: str, *, size: float = 10, bold: bool = False) -> None:
        font = b"/F2" if bold else b"/F1"
        self.ops.append(
            b"BT %s %.1f Tf %.1f %.1f Td (%s) Tj ET" % (font, size, x, y, encode_text(value))
        )

    def rect(self, x: float, y: float, w: float, h: float, *, fill: bool = True) -> None:
        self.ops.append(b"%.2f %.2f %.2f %.2f re %s" % (x, y, w, h, b"f" if fill else b"S"))

    def line(self, x1: float, y1: float, x2: float, y2: float, *, dashed: bool = False) -> None:
        dash = b"[4 3] 0 d " if dashed else b"[] 0 d "
        self.ops.append(dash + b"%.1f %.1f m %.1f %.1f l S" % (x1, y1, x2, y2))

    def barcode(self, x: float, y: float, value: str, *, width: float, height: float) -> None:
        """Decorative bars derived from ``value`` (not a scannable symbology)."""
        bits = "".join(f"{b:08b}" for b in hashlib.sha256(value.encode()).digest())[:96]
        step = width / (len(bits) + 4)
        self.rect(x, y, step * 2, height)
        for i, bit in enumerate(bits):
            if bit == "1":
                self.rect(x + step * (i + 2), y, step * 0.9, height)
        self.rect(x + width - step * 2, y, step * 2, height)

    def content(self) -> bytes:
        return b"0.6 w\n" + b"\n".join(self.ops) + b"\n"


def new_page(size: str) -> Page:
    width, height = PAGE_SIZES[size]
    return Page(width=width, height=height)


def document(pages: list[Page], *, title: str = "") -> bytes:
    """Serialize pages to a complete PDF file with a correct cross-reference table."""
    objects: list[bytes] = []
    encoding = b"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences %s >>" % (
        DIFFERENCES.encode()
    )
    # 1 catalog, 2 pages, 3 regular font, 4 bold font, 5 info, then (page, content) pairs
    kids = " ".join(f"{6 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids.encode(), len(pages)))
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding %s >>" % encoding
    )
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding %s >>" % encoding
    )
    objects.append(b"<< /Producer (allegro-sandbox) /Title (%s) >>" % encode_text(title))
    for i, page in enumerate(pages):
        content_ref = 7 + 2 * i
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (page.width, page.height, content_ref)
        )
        stream = page.content()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@dataclass(frozen=True)
class LabelData:
    """What a carrier label shows."""

    waybill: str
    carrier: str
    service: str
    sender: tuple[str, ...]
    receiver: tuple[str, ...]
    package: str
    reference: str = ""
    text_on_label: str = ""
    point: str = ""


def draw_label(page: Page, label: LabelData, *, x: float, y: float, scale: float = 1.0) -> None:
    """Draw one A6-sized label with its lower-left corner at (x, y)."""

    def t(dx: float, dy: float, value: str, size: float = 8, bold: bool = False) -> None:
        page.text(x + dx * scale, y + dy * scale, value, size=size * scale, bold=bold)

    page.rect(x + 10 * scale, y + 10 * scale, 278 * scale, 400 * scale, fill=False)
    t(20, 390, label.carrier, size=14, bold=True)
    t(20, 376, label.service, size=8)
    t(20, 356, "NADAWCA / FROM", size=7, bold=True)
    for i, row in enumerate(label.sender[:4]):
        t(20, 346 - 10 * i, row)
    t(20, 296, "ODBIORCA / TO", size=7, bold=True)
    for i, row in enumerate(label.receiver[:5]):
        t(20, 284 - 12 * i, row, size=10, bold=i == 0)
    if label.point:
        t(20, 216, f"Punkt odbioru: {label.point}", size=10, bold=True)
    t(20, 196, label.package)
    if label.reference:
        t(20, 184, f"Ref: {label.reference}")
    if label.text_on_label:
        t(20, 172, label.text_on_label)
    page.barcode(
        x + 24 * scale, y + 70 * scale, label.waybill, width=250 * scale, height=80 * scale
    )
    t(24, 50, label.waybill, size=14, bold=True)
    t(24, 28, "allegro-sandbox: etykieta testowa / test label", size=6)


def label_pdf(
    labels: list[LabelData],
    *,
    page_size: str = "A4",
    cut_line: bool = False,
    summaries: list[list[str]] | None = None,
) -> bytes:
    """Labels as a PDF: one per A6 page, or four per A4 page (optionally with cut lines).

    ``summaries`` are extra report pages (lines of text) appended after the labels.
    """
    pages: list[Page] = []
    if page_size == "A6":
        for label in labels:
            page = new_page("A6")
            draw_label(page, label, x=0, y=0)
            pages.append(page)
    else:
        slots = ((0, 421), (297, 421), (0, 0), (297, 0))
        for start in range(0, len(labels), 4):
            page = new_page("A4")
            for label, (sx, sy) in zip(labels[start : start + 4], slots, strict=False):
                draw_label(page, label, x=sx, y=sy, scale=0.995)
            if cut_line:
                page.line(297.5, 0, 297.5, 842, dashed=True)
                page.line(0, 421, 595, 421, dashed=True)
            pages.append(page)
    for lines in summaries or []:
        pages.extend(text_pages(lines, size=page_size, title="Raport / Summary report"))
    return document(pages, title="Etykiety / Labels")


def text_pages(lines: list[str], *, size: str, title: str) -> list[Page]:
    """Plain text pages with a heading, wrapping onto as many pages as needed."""
    height = PAGE_SIZES[size][1]
    font = 9 if size == "A4" else 7
    step = font + 4
    pages: list[Page] = []
    page = new_page(size)
    y = height - 50.0
    page.text(36, y, title, size=font + 5, bold=True)
    y -= step * 2
    for row in lines:
        if y < 40:
            pages.append(page)
            page = new_page(size)
            y = height - 50.0
        page.text(36, y, row, size=font)
        y -= step
    pages.append(page)
    return pages


def protocol_pdf(*, sender: str, carrier: str, created: str, rows: list[tuple[str, ...]]) -> bytes:
    """A dispatch protocol: a numbered list of waybills to hand over to the carrier."""
    lines = [
        f"Nadawca / Sender: {sender}",
        f"Przewoznik / Carrier: {carrier}",
        f"Data / Date: {created}",
        f"Liczba paczek / Parcels: {len(rows)}",
        "",
        "Lp.  List przewozowy / Waybill      Odbiorca / Receiver",
    ]
    lines.extend(f"{i:>3}.  {'  '.join(row)}" for i, row in enumerate(rows, start=1))
    lines.extend(["", "Podpis kuriera / Courier signature: ....................."])
    pages = text_pages(lines, size="A4", title="Protokol nadania / Dispatch protocol")
    return document(pages, title="Protokol nadania")


def zpl_label(label: LabelData) -> bytes:
    """A ZPL II label (203 dpi, 4x6 in) with the waybill as text and as a Code 128 barcode."""

    def field_(x: int, y: int, value: str, size: int = 30) -> str:
        clean = value.replace("^", " ").replace("~", " ")
        return f"^FO{x},{y}^A0N,{size},{size}^FD{clean}^FS"

    rows = [
        "^XA",
        "^CI28",
        field_(40, 40, label.carrier, 50),
        field_(40, 100, label.service, 25),
        field_(40, 150, "NADAWCA / FROM", 22),
    ]
    rows.extend(field_(40, 180 + 28 * i, row, 24) for i, row in enumerate(label.sender[:4]))
    rows.append(field_(40, 310, "ODBIORCA / TO", 22))
    rows.extend(field_(40, 340 + 34 * i, row, 30) for i, row in enumerate(label.receiver[:5]))
    if label.point:
        rows.append(field_(40, 520, f"Punkt: {label.point}", 30))
    rows.append(field_(40, 570, label.package, 24))
    rows.append(f"^FO60,640^BY3^BCN,200,N,N,N^FD{label.waybill}^FS")
    rows.append(field_(60, 860, label.waybill, 40))
    rows.append("^XZ")
    return ("\n".join(rows) + "\n").encode("utf-8")
