"""Tests for ctxchunk.documents: decoding, formats, sections and document chunks."""

from __future__ import annotations

import codecs
import html as html_lib
import re
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ctxchunk.chunk import Chunk
from ctxchunk.documents import (
    HEADER_MAX_TOKENS,
    Document,
    chunk_document,
    detect_format,
    read_document,
)
from ctxchunk.exceptions import (
    CtxChunkError,
    DocumentError,
    InvalidArgumentError,
    InvalidTypeError,
    SplitError,
)
from ctxchunk.roles import Kind, Role
from ctxchunk.tokens import get_tokenizer
from tests.strategies import prose

O200K = get_tokenizer("o200k_base")
CL100K = get_tokenizer("cl100k_base")
FIXTURES = Path(__file__).parent / "fixtures" / "html"
PAGES = sorted(FIXTURES.glob("*.html"))
HEADER = re.compile(
    r"\[(?:Source: (?P<name>.+?) · part (?P<k>\d+)/(?P<n>\d+)"
    r"(?: · section: (?P<section>.+))?|part (?P<k2>\d+)/(?P<n2>\d+))\]"
)


def split_chunk(chunk: Chunk) -> tuple[str, str]:
    """The provenance line and the body of a chunk."""
    header, _, body = chunk.text.partition("\n")
    return header, body


def check_chunks(
    chunks: list[Chunk],
    document: Document,
    max_tokens: int,
    tokenizer=O200K,
    *,
    url: str | None = None,
) -> None:
    """Assert every guarantee chunk_document makes about ``chunks``."""
    parts = len(chunks)
    assert len({chunk.id for chunk in chunks}) == parts
    assert len({chunk.source for chunk in chunks}) <= 1
    position = 0
    text = document.text
    for part, chunk in enumerate(chunks):
        assert chunk.role is Role.TOOL
        assert chunk.kind is Kind.DOCUMENT
        assert (chunk.part, chunk.parts) == (part, parts)
        assert chunk.tokens == tokenizer.count(chunk.text)
        assert chunk.tokens <= max_tokens
        assert chunk.meta.url == url
        assert chunk.meta.title == document.title
        header, body = split_chunk(chunk)
        found = HEADER.fullmatch(header)
        assert found, header
        assert (found["k"] or found["k2"], found["n"] or found["n2"]) == (
            str(part + 1),
            str(parts),
        )
        # The bodies cover the readable text in order; only whitespace is between.
        assert body.strip()
        at = text.find(body, position)
        assert at >= 0, body
        assert not text[position:at].strip()
        position = at + len(body)
        # The chunk's heading path is that of (an ancestor of) where it starts.
        section = next(s for s in document.sections if s.start <= at < s.end)
        assert section.headings[: len(chunk.meta.headings)] == chunk.meta.headings
    assert not text[position:].strip()
    if not text.strip():
        assert chunks == []


# -- strategies ---------------------------------------------------------------------

heading_words = st.lists(
    st.sampled_from(["Install", "Usage", "API", "Notes", "Über", "東京", "FAQ", "x"]),
    min_size=1,
    max_size=4,
).map(" ".join)


@st.composite
def outlines(draw):
    """Draw an abstract document: a list of (kind, level, text) blocks."""
    blocks = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["heading", "para", "para", "code", "list"]))
        if kind == "heading":
            blocks.append(("heading", draw(st.integers(1, 4)), draw(heading_words)))
        elif kind == "code":
            code = draw(
                st.sampled_from(["# not a heading\nx = 1", "def f():\n    pass"])
            )
            blocks.append(("code", 0, code))
        elif kind == "list":
            items = draw(st.lists(prose(max_words=8), min_size=1, max_size=4))
            blocks.append(("list", 0, "\n".join(i.replace("\n", " ") for i in items)))
        else:
            blocks.append(("para", 0, draw(prose(max_words=150)).strip() or "text"))
    return blocks


def to_markdown(blocks) -> str:
    out = []
    for kind, level, text in blocks:
        if kind == "heading":
            out.append("#" * level + " " + text)
        elif kind == "code":
            out.append(f"```python\n{text}\n```")
        elif kind == "list":
            out.append("\n".join(f"- {item.strip()}" for item in text.split("\n")))
        else:
            out.append(text)
    return "\n\n".join(out)


def to_html(blocks) -> str:
    out = ["<html><head><title>Doc</title></head><body><nav>Menu</nav><main>"]
    for kind, level, text in blocks:
        escaped = html_lib.escape(text)
        if kind == "heading":
            out.append(f"<h{level}>{escaped}</h{level}>")
        elif kind == "code":
            out.append(f"<pre>{escaped}</pre>")
        elif kind == "list":
            items = "".join(f"<li>{html_lib.escape(i)}</li>" for i in text.split("\n"))
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{escaped}</p>")
    out.append("</main><footer>Footer</footer></body></html>")
    return "".join(out)


bounds = st.integers(min_value=12, max_value=400)


# -- properties ---------------------------------------------------------------------


@given(outlines(), bounds)
def test_markdown_chunks_property(blocks, max_tokens):
    """Markdown chunks fit the bound, cover the text in order and carry provenance."""
    content = to_markdown(blocks)
    chunks = chunk_document(content, url="https://e.x/doc", max_tokens=max_tokens)
    document = read_document(content)
    check_chunks(chunks, document, max_tokens, url="https://e.x/doc")
    assert chunk_document(content, url="https://e.x/doc", max_tokens=max_tokens) == (
        chunks
    )


@given(outlines(), bounds)
def test_html_chunks_property(blocks, max_tokens):
    """HTML chunks fit the bound and cover the readable content in order."""
    content = to_html(blocks)
    chunks = chunk_document(content, max_tokens=max_tokens)
    document = read_document(content)
    assert document.format == "html"
    check_chunks(chunks, document, max_tokens)
    assert all("Menu" not in c.text and "Footer" not in c.text for c in chunks)


@given(st.one_of(prose(max_words=400), st.text(max_size=300)), bounds)
@example("", 12)
@example(" \n\t ", 12)
@example("\U0001f469\u200d\U0001f467" * 40, 12)
def test_text_chunks_property(content, max_tokens):
    """Any text is chunked within the bound, or refused with a SplitError."""
    try:
        chunks = chunk_document(content, format="text", max_tokens=max_tokens)
    except SplitError:
        return
    check_chunks(chunks, read_document(content, format="text"), max_tokens)


@given(outlines(), st.integers(min_value=12, max_value=200))
def test_other_tokenizer(blocks, max_tokens):
    """The bound holds, counted with the tokenizer that was asked for."""
    content = to_markdown(blocks)
    chunks = chunk_document(content, max_tokens=max_tokens, tokenizer="cl100k_base")
    check_chunks(chunks, read_document(content), max_tokens, tokenizer=CL100K)


@given(
    st.text(min_size=1, max_size=400),
    st.text(min_size=1, max_size=400),
    st.integers(min_value=12, max_value=120),
)
def test_long_provenance_is_shortened(title, url, max_tokens):
    """A title and address of any length never push a chunk over the bound."""
    content = "# " + "Heading " * 60 + "\n\n" + "Some words here. " * 30
    chunks = chunk_document(content, url=url, title=title, max_tokens=max_tokens)
    check_chunks(chunks, read_document(content, title=title), max_tokens, url=url)
    for chunk in chunks:
        header, _ = split_chunk(chunk)
        assert "\n" not in header
        budget = min(HEADER_MAX_TOKENS, max_tokens // 4)
        assert O200K.count(header + "\n") <= budget or HEADER.fullmatch(header)["k2"]


# -- real pages ---------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
@pytest.mark.parametrize("max_tokens", [2000, 300, 40])
def test_real_pages(page, max_tokens):
    """Python's documentation pages chunk within the bound, without navigation."""
    content = page.read_bytes()
    url = f"https://docs.python.org/3.11/{page.name.replace('-', '/', 1)}"
    chunks = chunk_document(content, url=url, max_tokens=max_tokens)
    document = read_document(content)
    check_chunks(chunks, document, max_tokens, url=url)
    joined = "\n".join(c.text for c in chunks)
    for phrase in ("Previous topic", "Next topic", "Show Source", "Quick search"):
        assert phrase not in joined
    assert chunks[0].meta.title.endswith("Python 3.11.2 documentation")


def test_real_page_headings_in_meta():
    """Each section of the json page is named by the heading paths of its chunks."""
    chunks = chunk_document(
        (FIXTURES / "library-json.html").read_bytes(), max_tokens=600
    )
    paths = {c.meta.headings for c in chunks}
    root = "json — JSON encoder and decoder"
    assert (root, "Basic Usage") in paths
    assert (root, "Encoders and Decoders") in paths
    header, _ = split_chunk(chunks[0])
    assert header.startswith("[Source: json — JSON encoder and decoder — Python")
    assert header.endswith(f"· part 1/{len(chunks)} · section: {root}]")


def test_provenance_line_example():
    """The provenance line names title, url, part and heading path."""
    chunks = chunk_document(
        "<title>Guide</title><h1>Install</h1><h2>Linux</h2><p>apt install x</p>",
        url="https://x.org/install",
    )
    assert [c.text for c in chunks] == [
        "[Source: Guide https://x.org/install · part 1/1 · section: Install]\n"
        "# Install\n\n## Linux\n\napt install x"
    ]


# -- structure ----------------------------------------------------------------------


def test_tiny_sections_are_packed():
    """Consecutive small sections share a chunk named by their common path."""
    content = "# Guide\n\n## A\n\none\n\n## B\n\ntwo\n\n# Other\n\nthree"
    chunks = chunk_document(content, max_tokens=2000)
    assert len(chunks) == 1
    assert chunks[0].meta.headings == ()
    packed = chunk_document(content.split("# Other")[0], max_tokens=2000)
    assert packed[0].meta.headings == ("Guide",)


def test_long_section_split_alone():
    """A section over the bound is split alone; its neighbours get their own chunks."""
    long = "Sentence number one is here. " * 80
    content = f"# A\n\nshort\n\n# B\n\n{long}\n\n# C\n\nshort too"
    chunks = chunk_document(content, max_tokens=120)
    paths = [c.meta.headings for c in chunks]
    assert paths[0] == ("A",)
    assert paths[-1] == ("C",)
    assert set(paths[1:-1]) == {("B",)}
    assert len(paths) > 3
    for chunk in chunks[1:-1]:
        header, _ = split_chunk(chunk)
        assert header.endswith("· section: B]")


def test_sections_start_chunks():
    """A section that fits in one chunk is never split across two."""
    content = "\n\n".join(f"# S{i}\n\n" + "word " * 40 for i in range(10))
    chunks = chunk_document(content, max_tokens=150)
    for chunk in chunks:
        _, body = split_chunk(chunk)
        assert body.startswith("# S")
        assert body.count("# S") == len(re.findall(r"^# S", body, re.M))


def test_chunk_ids_deterministic_and_source_depends_on_url():
    """The same input gives the same ids; another url gives another source."""
    a = chunk_document("# T\n\nbody", url="https://a")
    b = chunk_document("# T\n\nbody", url="https://a")
    c = chunk_document("# T\n\nbody", url="https://b")
    assert [x.id for x in a] == [x.id for x in b]
    assert a[0].source != c[0].source
    assert a[0].source.startswith("doc_")


def test_no_text_gives_no_chunks():
    """A page with nothing to read gives an empty list."""
    assert chunk_document("") == []
    assert chunk_document(b"") == []
    assert chunk_document("  \n\n ") == []
    assert (
        chunk_document("<html><body><nav>x</nav><script>y</script></body></html>") == []
    )


def test_title_fallbacks():
    """The title is the one given, else <title>, else the first level-1 heading."""
    assert read_document("<title>T</title><h1>H</h1>").title == "T"
    assert read_document("<h2>Two</h2><h1>One</h1>", format="html").title == "One"
    assert read_document("## Two\n\n# One\n").title == "One"
    assert read_document("# One", title="Given").title == "Given"
    assert read_document("just text").title is None


def test_untitled_provenance():
    """Without title or url the provenance line says so."""
    chunks = chunk_document("hello")
    assert chunks[0].text == "[Source: untitled document · part 1/1]\nhello"


# -- bounds and errors --------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [1, 2, 5])
def test_max_tokens_too_small(max_tokens):
    """A bound with no room after the shortest provenance line is refused clearly."""
    with pytest.raises(SplitError, match=rf"max_tokens={max_tokens} leaves no room"):
        chunk_document("# Title\n\nSome text.", max_tokens=max_tokens)


def test_bound_too_small_for_a_character():
    """A character needing more tokens than are left is refused clearly."""
    with pytest.raises(SplitError, match="a single character"):
        # "[part 1/1]" and its line break take 7 tokens; the hieroglyph needs 4.
        chunk_document("\U00013000", max_tokens=9)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"content": 3}, InvalidTypeError, "content must be a str or bytes"),
        ({"content": "x", "url": 3}, InvalidTypeError, "url must be a str or None"),
        ({"content": "x", "title": b"t"}, InvalidTypeError, "title must be"),
        ({"content": "x", "format": "pdf"}, InvalidArgumentError, "format='pdf'"),
        ({"content": "x", "max_tokens": 0}, InvalidArgumentError, "max_tokens=0"),
        ({"content": "x", "max_tokens": 2.0}, InvalidTypeError, "max_tokens must"),
        ({"content": "x", "max_tokens": True}, InvalidTypeError, "max_tokens must"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    """Wrong types and values get errors that name the argument."""
    content = kwargs.pop("content")
    with pytest.raises(error, match=re.escape(message)):
        chunk_document(content, **kwargs)


def test_errors_are_ctxchunk_errors():
    """Every error raised on purpose is a CtxChunkError."""
    with pytest.raises(CtxChunkError):
        chunk_document(b"\xff\xfe\xfa not utf-8 \x81", format="text")


# -- decoding -----------------------------------------------------------------------


def test_windows_1252_meta():
    """A windows-1252 page declared by http-equiv decodes without mojibake."""
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; '
        'charset=windows-1252"></head><body><p>Café – “quoted” €5</p></body></html>'
    ).encode("cp1252")
    assert read_document(page).text == "Café – “quoted” €5"


def test_latin1_label_means_windows_1252():
    """A page labelled ISO-8859-1 is read as windows-1252, as browsers do."""
    page = '<meta charset="iso-8859-1"><p>“smart” quotes</p>'.encode("cp1252")
    assert read_document(page).text == "“smart” quotes"


def test_windows_1252_undefined_bytes():
    """Bytes windows-1252 leaves undefined decode to the C1 controls, not errors."""
    page = b'<meta charset="windows-1252"><p>a\x81b</p>'
    assert read_document(page).text == "a\x81b"


def test_shift_jis_meta():
    """A Shift_JIS page declared by <meta charset> decodes."""
    page = (
        '<html><head><meta charset="Shift_JIS"><title>天気</title></head>'
        "<body><h1>東京の天気</h1><p>晴れ、気温は２０度。①</p></body></html>"
    ).encode("cp932")
    document = read_document(page)
    assert document.title == "天気"
    assert document.text == "# 東京の天気\n\n晴れ、気温は２０度。①"


def test_xml_declaration():
    """An XHTML page's XML declaration names its encoding."""
    page = (
        '<?xml version="1.0" encoding="EUC-JP"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>日本語</p></body></html>'
    ).encode("euc-jp")
    assert read_document(page).text == "日本語"


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ],
)
def test_byte_order_mark(bom, codec):
    """A byte order mark wins over anything the page declares."""
    page = bom + '<meta charset="windows-1252"><p>Ünïcödé ✓</p>'.encode(codec)
    assert read_document(page).text == "Ünïcödé ✓"


def test_text_byte_order_mark_dropped():
    """A byte order mark at the start of a str is not content."""
    assert read_document("\ufeff<p>x</p>").text == "x"
    assert read_document("\ufeff# T").sections[0].headings == ("T",)


def test_undeclared_utf8():
    """Bytes that declare nothing are read as UTF-8."""
    assert read_document("# Grüße\n\n✓".encode()).text == "# Grüße\n\n✓"


def test_undeclared_non_utf8_refused():
    """Bytes that declare nothing and are not UTF-8 are refused, not garbled."""
    with pytest.raises(DocumentError, match=r"declare no charset.*0xe9 at offset 6"):
        read_document("<p>café</p>".encode("cp1252"))


def test_unknown_charset_refused():
    """A charset Python does not know is named in the error."""
    with pytest.raises(DocumentError, match="'x-klingon'"):
        read_document(b'<meta charset="x-klingon"><p>x</p>')


def test_bytes_invalid_in_declared_charset_refused():
    """Bytes that break the declared charset are refused with their offset."""
    with pytest.raises(DocumentError, match=r"0xe9 at offset \d+ is not valid utf-8"):
        read_document('<meta charset="utf-8"><p>café</p>'.encode("latin-1"))


def test_meta_ignored_in_markdown():
    """A <meta> shown as an example in Markdown does not change its decoding."""
    content = '# HTML\n\n```html\n<meta charset="iso-8859-1">\n```\n\nÜ ✓\n'
    assert read_document(content.encode()).text == content


# -- formats and sections -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!DOCTYPE html><p>x", "html"),
        ("<html><body>x", "html"),
        ("  <div><p>fragment</p></div>", "html"),
        ('<p align="center"><img src="logo.png"></p>\n\n# Project\n\ntext', "markdown"),
        ("# Title\n\ntext", "markdown"),
        ("Title\n=====\n\ntext", "markdown"),
        ("```\ncode\n```", "markdown"),
        ("plain words", "text"),
        ("Hello <b>x</b>", "text"),
        ("<3 you", "text"),
    ],
)
def test_detect_format(text, expected):
    """Formats are told apart by their markers."""
    assert detect_format(text) == expected


def test_markdown_sections():
    """Markdown headings, ATX or underlined, make sections with heading paths."""
    content = (
        "intro\n\n# A\n\ntext\n\n```\n# not a heading\n```\n\n## B ##\n\nx\n\n"
        "C\n---\n\ny\n\n#\n\n#### D\n"
    )
    document = read_document(content)
    assert [s.headings for s in document.sections] == [
        (),
        ("A",),
        ("A", "B"),
        ("A", "C"),
        ("A", "C", "D"),
    ]
    assert [content[s.start : s.start + 2] for s in document.sections] == [
        "in",
        "# ",
        "##",
        "C\n",
        "##",
    ]
    assert document.sections[-1].end == len(content)


def test_markdown_fence_with_longer_closer():
    """A fence closes only with the same character, at least as long."""
    content = "````\n```\n# inside\n````\n# Out\n"
    assert [s.headings for s in read_document(content).sections] == [(), ("Out",)]


def test_text_format_has_no_sections():
    """Plain text is one section, whatever its lines look like."""
    document = read_document("# not a heading\ntext", format="text")
    assert [s.headings for s in document.sections] == [()]


# -- hostile input ------------------------------------------------------------------


def test_five_megabyte_page():
    """A 5 MB page is chunked within the bound."""
    source = (FIXTURES / "library-json.html").read_text("utf-8")
    start = source.index('<div class="body" role="main">')
    end = source.index('<div class="sphinxsidebar"')
    body = source[start:end].replace('role="main"', "")
    copies = 5_000_000 // len(body) + 1
    page = source[:start] + body * copies + source[end:]
    assert len(page) >= 5_000_000
    chunks = chunk_document(page)
    assert len(chunks) > copies
    assert all(c.tokens <= 2000 for c in chunks)
    assert chunks[-1].parts == len(chunks)


def test_deeply_nested_page():
    """100,000 nested elements give a result, not a recursion error."""
    page = "<div>" * 100_000 + "deep" + "</div>" * 100_000
    chunks = chunk_document(page)
    assert split_chunk(chunks[0])[1] == "deep"
