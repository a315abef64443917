"""PDF documents: chunk_document and read_document on PDF bytes (ctxchunk._pdf)."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk import _pdf
from ctxchunk.documents import chunk_document, read_document
from ctxchunk.exceptions import DocumentError, InvalidArgumentError
from ctxchunk.tokens import get_tokenizer

pypdf = pytest.importorskip("pypdf", reason="PDF support needs ctxchunk[pdf]")

PAGES = [
    "Quarterly report\nRevenue rose by a tenth over the quarter.",
    "Costs\nCosts held steady; the new plant opened in May.",
    "Outlook\nThe board expects the same growth next quarter.",
]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    """A PDF 1.4 file with one page per string, each line a line of Helvetica text.

    The cross-reference table holds the true byte offset of every object, as
    ISO 32000-1 (7.5.4) requires, so any reader opens the file without repair.
    """
    objects: list[bytes] = []
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                f"<< /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
            ).encode()
        )
        lines = [f"({_escape(line)}) Tj T*" for line in text.split("\n")]
        stream = ("BT /F1 11 Tf 14 TL 72 720 Td " + " ".join(lines) + " ET").encode(
            "latin-1"
        )
        objects.append(
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
        )
    info = None
    if title is not None:
        objects.append(f"<< /Title ({_escape(title)}) >>".encode("latin-1"))
        info = len(objects)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R"
    if info is not None:
        trailer += f" /Info {info} 0 R"
    out.write(f"trailer\n{trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


HEADER = re.compile(r"\[(?:Source: .*? · )?part (\d+)/(\d+) · pages? (\d+)(?:-(\d+))?")


def test_read_pdf_pages_and_title():
    """Each page's text is read in order, with the title from the info dictionary."""
    document = read_document(make_pdf(PAGES, title="Q3 report"))
    assert document.format == "pdf"
    assert document.title == "Q3 report"
    assert len(document.pages) == 3
    for number, page in enumerate(PAGES):
        start = document.pages[number]
        assert document.text[start:].startswith(page.split("\n")[0])
    assert [s.start for s in document.sections] == list(document.pages)
    assert document.sections[-1].end == len(document.text)


def test_chunks_name_their_pages():
    """A chunk's provenance line names the pages its text comes from."""
    chunks = chunk_document(make_pdf(PAGES), url="https://x.org/q3.pdf", max_tokens=30)
    assert len(chunks) >= 2
    seen = []
    for chunk in chunks:
        found = HEADER.match(chunk.text)
        assert found, chunk.text
        first = int(found.group(3))
        last = int(found.group(4) or first)
        body = chunk.text.split("\n", 1)[1]
        for number, page in enumerate(PAGES, start=1):
            if page.split("\n")[1] in body:
                assert first <= number <= last
        seen.extend(range(first, last + 1))
        assert chunk.tokens <= 30
    assert sorted(set(seen)) == [1, 2, 3]


def test_pdf_declared_format():
    """format='pdf' reads bytes; a str is an error that says to pass the bytes."""
    data = make_pdf(PAGES)
    assert read_document(data, format="pdf").format == "pdf"
    with pytest.raises(InvalidArgumentError, match="bytes"):
        read_document("%PDF-1.4 not bytes", format="pdf")


def test_empty_pdf():
    """A PDF whose pages hold no text gives no chunks."""
    assert chunk_document(make_pdf(["", ""])) == []


def test_truncated_pdf():
    """A file cut short is a DocumentError that says so."""
    data = make_pdf(PAGES)
    with pytest.raises(DocumentError, match="cut short"):
        read_document(data[: len(data) // 2])


def test_encrypted_pdf():
    """A PDF that needs a password is a DocumentError that says to decrypt it."""
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf(PAGES)))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(DocumentError, match="encrypted"):
        chunk_document(out.getvalue())


def test_encrypted_without_user_password_is_read():
    """A PDF encrypted only with an owner password opens, as in any viewer."""
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_pdf(PAGES)))
    writer.encrypt("", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    assert "Revenue rose" in read_document(out.getvalue()).text


def test_too_many_pages(monkeypatch):
    """A PDF longer than MAX_PAGES is a DocumentError naming the limit."""
    monkeypatch.setattr(_pdf, "MAX_PAGES", 5)
    with pytest.raises(DocumentError, match="MAX_PAGES=5"):
        read_document(make_pdf(["page"] * 6))


def test_damaged_pdf():
    """A file with a PDF header and an end marker but no PDF inside is an error."""
    with pytest.raises(DocumentError, match="cannot be read"):
        read_document(b"%PDF-1.7\n" + b"\x00garbage" * 100 + b"\n%%EOF\n")


def test_missing_pypdf(monkeypatch):
    """Without pypdf, a PDF is an error that names the extra to install."""
    import builtins

    real = builtins.__import__

    def refuse(name, *args, **kwargs):
        if name == "pypdf" or name.startswith("pypdf."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    with pytest.raises(DocumentError, match=r"ctxchunk\[pdf\]"):
        read_document(make_pdf(PAGES))


@given(
    st.lists(
        st.text(
            alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
            max_size=120,
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=30, max_value=400),
)
def test_pdf_chunks_within_bound(pages, max_tokens):
    """Any PDF's chunks are within the bound and cover its text in page order."""
    data = make_pdf(pages)
    document = read_document(data)
    chunks = chunk_document(data, max_tokens=max_tokens)
    tokenizer = get_tokenizer()
    firsts = []
    for chunk in chunks:
        assert chunk.tokens == tokenizer.count(chunk.text) <= max_tokens
        found = HEADER.match(chunk.text)
        assert found, chunk.text
        firsts.append(int(found.group(3)))
        assert 1 <= firsts[-1] <= len(pages)
    assert firsts == sorted(firsts)
    words = "".join(document.text.split())
    assert "".join("".join(c.text.split("\n", 1)[1].split()) for c in chunks) == words
