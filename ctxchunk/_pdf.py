"""PDF bytes to the text of each page: the private machinery of ctxchunk.documents.

The parser is pypdf (``pip install 'ctxchunk[pdf]'``): pure Python, so it installs
everywhere ctxchunk does, maintained (monthly releases), and it bounds what one
stream may inflate to, so a compressed bomb is an error instead of gigabytes.

A hostile file fails fast with a :class:`~ctxchunk.exceptions.DocumentError` that
says what is wrong: a file cut short (no ``%%EOF`` in its last KiB, which every
complete PDF ends with), one encrypted with a password, one with more than
:data:`MAX_PAGES` pages, or one pypdf cannot read.
"""

from __future__ import annotations

import io
from typing import Any

import attrs

from ctxchunk.exceptions import DocumentError

__all__ = ["MAX_PAGES", "Pdf", "is_pdf", "read_pdf"]

MAX_PAGES = 2000
"""The most pages :func:`read_pdf` reads. pypdf extracts a text page in about a
millisecond to tens of milliseconds, so this bounds a call to seconds; split a longer
file and pass its parts."""

_TAIL = 1024
"""How far from the end the ``%%EOF`` marker may be: the PDF standard (ISO 32000-1,
7.5.5) puts it on the last line, and readers such as Acrobat look in the last KiB."""


@attrs.frozen(slots=True)
class Pdf:
    """The text of a PDF.

    Attributes:
        pages: The text of each page, in order (``""`` for a page without text).
        title: The title in the document's information dictionary, or None.
    """

    pages: tuple[str, ...]
    title: str | None


def is_pdf(data: bytes) -> bool:
    """Whether ``data`` starts like a PDF: ``%PDF-`` in its first KiB, as readers allow.

    >>> is_pdf(b"%PDF-1.7 ..."), is_pdf(b"<html>")
    (True, False)
    """
    return b"%PDF-" in data[:_TAIL]


def read_pdf(data: bytes) -> Pdf:
    """Return the text of each page of a PDF and its title.

    Args:
        data: The file's bytes.

    Returns:
        The pages' text and the title.

    Raises:
        DocumentError: pypdf is not installed, or the file is cut short, encrypted,
            longer than :data:`MAX_PAGES` pages, or unreadable.
    """
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:
        raise DocumentError(
            "content is a PDF, and reading PDFs needs pypdf: "
            "pip install 'ctxchunk[pdf]'"
        ) from None
    if b"%%EOF" not in data[-_TAIL:]:
        raise DocumentError(
            f"content is a PDF cut short: its last {_TAIL} bytes hold no %%EOF "
            f"marker ({len(data)} bytes in all); fetch the whole file"
        )
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _opens_without_password(reader):
            raise DocumentError(
                "content is an encrypted PDF that needs a password; decrypt it "
                "first (for example with pypdf's PdfReader.decrypt) and pass the "
                "decrypted bytes"
            )
        count = len(reader.pages)
        if count > MAX_PAGES:
            raise DocumentError(
                f"content is a PDF of {count} pages, more than MAX_PAGES="
                f"{MAX_PAGES}; split it and pass the parts"
            )
        pages = tuple(page.extract_text() or "" for page in reader.pages)
        title = _title(reader.metadata)
    except DocumentError:
        raise
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,
    ) as error:
        # pypdf reports broken structure with its own errors and, deep in a damaged
        # object graph, with the built-in ones.
        raise DocumentError(
            f"content is a PDF that cannot be read ({type(error).__name__}: "
            f"{error}); check that the file is whole"
        ) from None
    return Pdf(pages=pages, title=title)


def _opens_without_password(reader: Any) -> bool:
    """Whether an encrypted PDF opens with the empty user password.

    Files that are encrypted only to restrict printing or copying open so, and every
    viewer shows them without asking.
    """
    try:
        return bool(reader.decrypt(""))
    except Exception:  # any failure means it does not open
        return False


def _title(metadata: Any) -> str | None:
    if metadata is None:
        return None
    title = metadata.get("/Title")
    if not isinstance(title, str):
        return None
    return " ".join(title.split()) or None
