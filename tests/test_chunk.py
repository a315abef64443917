"""Tests for ctxchunk.chunk: the Chunk value object, its ids and its JSON form."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ctxchunk.chunk import (
    CHUNK_ID_PATTERN,
    ROLES_BY_KIND,
    Chunk,
    ChunkMeta,
    ChunkModel,
    chunk_json_schema,
    chunks_of_text,
    make_chunk_id,
)
from ctxchunk.exceptions import ChunkError, EncodingError, InvalidTypeError, RoleError
from ctxchunk.roles import Kind, Role
from ctxchunk.tokens import get_tokenizer
from tests.strategies import chunk_metas, chunks, prose

_ID_RE = re.compile(CHUNK_ID_PATTERN)
O200K = get_tokenizer("o200k_base")


def _chunk(**changes):
    fields = {
        "id": "c1",
        "role": Role.USER,
        "text": "Hello there",
        "tokens": 2,
        "source": "turn-0",
        "part": 0,
        "parts": 1,
        "kind": Kind.TURN,
    }
    fields.update(changes)
    return Chunk(**fields)


class TestMakeChunkId:
    def test_pinned_values(self):
        """Ids never change between releases: chunks logged today match tomorrow's."""
        assert make_chunk_id("turn-0", 0, "Hello!") == "ck_72d318f155dca52db49d64190216"
        assert make_chunk_id("item_abc", 3, "naïve café 東京 🙂") == (
            make_chunk_id("item_abc", 3, "naïve café 東京 🙂")
        )

    def test_stable_across_processes(self):
        """The id is the same in a fresh interpreter (hash randomization does not
        touch it)."""
        code = (
            "from ctxchunk.chunk import make_chunk_id;"
            "print(make_chunk_id('doc', 7, 'Ünïcode ✓'))"
        )
        other = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": "12345"},
        ).stdout.strip()
        assert other == make_chunk_id("doc", 7, "Ünïcode ✓")

    @given(st.text(), st.integers(0, 10**6), st.text())
    def test_shape(self, source, part, text):
        """Every id is at most 32 characters of [A-Za-z0-9_-], usable as a Realtime
        item id, even for text holding lone surrogates."""
        chunk_id = make_chunk_id(source, part, text)
        assert _ID_RE.match(chunk_id)
        assert len(chunk_id) <= 32

    @given(
        st.tuples(st.text(max_size=8), st.integers(0, 3), st.text(max_size=8)),
        st.tuples(st.text(max_size=8), st.integers(0, 3), st.text(max_size=8)),
    )
    def test_distinct_inputs_distinct_ids(self, a, b):
        """Different (source, part, text) triples get different ids."""
        if a != b:
            assert make_chunk_id(*a) != make_chunk_id(*b)

    @given(st.text("a1", max_size=4), st.integers(0, 11), st.text("a1", max_size=4))
    @example("a", 1, "0b")
    @example("a1", 0, "x")
    def test_fields_run_together_distinct_ids(self, source, part, text):
        """Every other triple whose fields spell the same characters run together,
        such as ("a1", 0, "x") and ("a", 10, "x"), gets a different id: each field
        is length-prefixed before it is hashed."""
        joined = source + str(part) + text
        others = [
            (joined[:i], int(joined[i:j]), joined[j:])
            for i in range(len(joined))
            for j in range(i + 1, len(joined) + 1)
            if joined[i:j].isdigit() and str(int(joined[i:j])) == joined[i:j]
        ]
        assert (source, part, text) in others
        chunk_id = make_chunk_id(source, part, text)
        for other in others:
            if other != (source, part, text):
                assert make_chunk_id(*other) != chunk_id, other

    def test_field_boundaries_matter(self):
        """Moving characters between source and text changes the id."""
        assert make_chunk_id("a", 0, "bc") != make_chunk_id("ab", 0, "c")
        assert make_chunk_id("a1", 0, "x") != make_chunk_id("a", 10, "x")

    @pytest.mark.parametrize(
        "args", [(None, 0, "x"), ("s", "0", "x"), ("s", True, "x"), ("s", 0, b"x")]
    )
    def test_wrong_types(self, args):
        """Wrong argument types raise InvalidTypeError."""
        with pytest.raises(InvalidTypeError):
            make_chunk_id(*args)


class TestChunkMeta:
    def test_defaults(self):
        """Every field is optional; the default meta is empty."""
        meta = ChunkMeta()
        assert meta.headings == ()
        assert meta.to_dict() == {}

    def test_headings_list_becomes_tuple(self):
        """A heading path given as a list is stored as a tuple, so meta is hashable."""
        meta = ChunkMeta(headings=["Guide", "Install"])
        assert meta.headings == ("Guide", "Install")
        hash(meta)

    @pytest.mark.parametrize("headings", ["Guide", b"Guide", 3, ["ok", 4], {"a": 1}])
    def test_bad_headings(self, headings):
        """A single string or non-string items are rejected, with the fix."""
        with pytest.raises(InvalidTypeError, match="headings"):
            ChunkMeta(headings=headings)

    def test_times(self):
        """start_ms and end_ms are non-negative ints with end_ms >= start_ms."""
        assert ChunkMeta(start_ms=5, end_ms=5).end_ms == 5
        with pytest.raises(ChunkError, match="end_ms=4 is before start_ms=5"):
            ChunkMeta(start_ms=5, end_ms=4)
        with pytest.raises(ChunkError, match="start_ms=-1 must be at least 0"):
            ChunkMeta(start_ms=-1)
        with pytest.raises(InvalidTypeError, match="end_ms"):
            ChunkMeta(end_ms=1.5)
        with pytest.raises(InvalidTypeError, match="start_ms"):
            ChunkMeta(start_ms=True)

    @pytest.mark.parametrize(
        "field", ["url", "title", "speaker", "tool_name", "call_id"]
    )
    def test_optional_strings(self, field):
        """Text fields take a str or None, nothing else."""
        assert getattr(ChunkMeta(**{field: "x"}), field) == "x"
        with pytest.raises(InvalidTypeError, match=field):
            ChunkMeta(**{field: 1})

    @pytest.mark.parametrize(
        "field", ["url", "title", "speaker", "tool_name", "call_id", "marks"]
    )
    @pytest.mark.parametrize("value", ["\ud800", "ok \udfff", "\ud83d\ude00"])
    def test_lone_surrogates_are_rejected(self, field, value):
        """Metadata is never tokenized, so a lone surrogate, which no UTF-8 JSON can
        hold, is refused when the meta is built, naming the field and the offset."""
        offset = 3 if value.startswith("ok") else 0
        with pytest.raises(
            ChunkError, match=rf"^{field}=.* lone surrogate .* {offset},"
        ):
            ChunkMeta(**{field: value})

    def test_lone_surrogate_in_a_heading(self):
        """A heading is metadata too."""
        with pytest.raises(ChunkError, match=r"headings\[1\]=.* lone surrogate"):
            ChunkMeta(headings=["ok", "b\udc00"])

    @given(chunk_metas())
    def test_meta_is_always_writable_json(self, meta):
        """Every valid meta's JSON form encodes as UTF-8."""
        json.dumps(meta.to_dict(), ensure_ascii=False).encode("utf-8")

    @given(chunk_metas())
    def test_to_dict_leaves_out_defaults(self, meta):
        """to_dict holds exactly the fields that differ from their defaults."""
        out = meta.to_dict()
        default = ChunkMeta()
        for field in attrs.fields(ChunkMeta):
            value = getattr(meta, field.name)
            if value == getattr(default, field.name):
                assert field.name not in out
            else:
                assert out[field.name] == (
                    list(value) if field.name == "headings" else value
                )


class TestChunkInvariants:
    def test_source_with_a_lone_surrogate(self):
        """The source is metadata (never tokenized): a lone surrogate is refused."""
        with pytest.raises(ChunkError, match=r"^source=.* lone surrogate"):
            _chunk(source="turn-\ud800")
        with pytest.raises(ChunkError, match=r"source=.* lone surrogate"):
            Chunk.create("Hi", role="user", kind="turn", source="\udc80")

    def test_text_with_a_lone_surrogate_is_reported_when_counted(self):
        """Text is content: counting it raises EncodingError with the offset."""
        with pytest.raises(EncodingError, match="offset 3"):
            Chunk.create("ok \ud800", role="user", kind="turn", source="t")

    def test_valid(self):
        """A chunk with coherent fields is built; role and kind strings convert."""
        chunk = _chunk(role="user", kind="turn")
        assert chunk.role is Role.USER
        assert chunk.kind is Kind.TURN
        assert chunk.pinned is False
        assert chunk.meta == ChunkMeta()

    def test_frozen_and_hashable(self):
        """Chunks cannot be changed after they are made, and can be set members."""
        chunk = _chunk()
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            chunk.text = "other"  # type: ignore[misc]
        assert {chunk, _chunk()} == {chunk}

    @pytest.mark.parametrize(
        "chunk_id", ["", "a" * 33, "has space", "dot.ted", "ünï", "slash/ed"]
    )
    def test_bad_id(self, chunk_id):
        """An id must be 1 to 32 characters of [A-Za-z0-9_-]."""
        with pytest.raises(ChunkError, match="id="):
            _chunk(id=chunk_id)

    def test_id_of_32_characters(self):
        """32 characters is the most an id may have, and is accepted."""
        assert _chunk(id="A-_" + "z" * 29).id == "A-_" + "z" * 29

    @pytest.mark.parametrize(
        ("changes", "match"),
        [
            ({"tokens": -1}, "tokens=-1 must be at least 0"),
            ({"parts": 0}, "parts=0 must be at least 1"),
            ({"part": 1, "parts": 1}, r"part=1 must be in 0\.\.0"),
            ({"part": -1, "parts": 2}, r"part=-1 must be in 0\.\.1"),
            ({"source": ""}, "source=''"),
            (
                {"kind": Kind.TOOL_CALL, "role": Role.TOOL},
                "tool_call chunk must name its tool",
            ),
        ],
    )
    def test_value_invariants(self, changes, match):
        """Out-of-range values raise ChunkError naming the field and value."""
        with pytest.raises(ChunkError, match=match):
            _chunk(**changes)

    @pytest.mark.parametrize(
        "changes",
        [
            {"tokens": True},
            {"tokens": 1.0},
            {"text": None},
            {"source": 3},
            {"part": "0"},
            {"pinned": 1},
            {"meta": {"title": "x"}},
            {"id": 5},
        ],
    )
    def test_type_invariants(self, changes):
        """Wrong types raise InvalidTypeError."""
        with pytest.raises(InvalidTypeError):
            _chunk(**changes)

    def test_unknown_role_or_kind(self):
        """Unknown role or kind strings raise RoleError."""
        with pytest.raises(RoleError):
            _chunk(role="human")
        with pytest.raises(RoleError):
            _chunk(kind="message")

    @pytest.mark.parametrize("kind", list(Kind))
    @pytest.mark.parametrize("role", list(Role))
    def test_role_kind_table(self, kind, role):
        """A chunk is built exactly when its role is allowed for its kind."""
        meta = ChunkMeta(tool_name="search")
        if role in ROLES_BY_KIND[kind]:
            assert _chunk(role=role, kind=kind, meta=meta).role is role
        else:
            with pytest.raises(ChunkError, match="does not fit kind"):
                _chunk(role=role, kind=kind, meta=meta)

    def test_tool_content_is_never_user_or_system(self):
        """Documents, tool calls and tool results are tool context only; a summary
        is never put in the user's mouth."""
        for kind in (Kind.DOCUMENT, Kind.TOOL_CALL, Kind.TOOL_RESULT):
            assert ROLES_BY_KIND[kind] == {Role.TOOL}
        assert Role.USER not in ROLES_BY_KIND[Kind.SUMMARY]
        assert ROLES_BY_KIND[Kind.INSTRUCTION] == {Role.SYSTEM}


class TestCreate:
    def test_counts_tokens_and_derives_the_id(self):
        """create counts the text with the tokenizer and ids it by source and part."""
        text = "Browsing content is tool context."
        chunk = Chunk.create(
            text, role=Role.TOOL, kind=Kind.DOCUMENT, source="https://x.test/a"
        )
        assert chunk.tokens == get_tokenizer().count(text)
        assert chunk.id == make_chunk_id("https://x.test/a", 0, text)
        assert (chunk.part, chunk.parts) == (0, 1)

    def test_other_tokenizer(self):
        """A tokenizer given by name is used for the count."""
        text = "<|endoftext|> is text here"
        chunk = Chunk.create(
            text, role="user", kind="turn", source="t", tokenizer="cl100k_base"
        )
        assert chunk.tokens == get_tokenizer("cl100k_base").count(text)

    def test_known_count_is_not_recounted(self):
        """A count given by the caller (from split_text) is taken as it is."""
        chunk = Chunk.create("abc", role="user", kind="turn", source="t", tokens=7)
        assert chunk.tokens == 7

    def test_meta_and_place(self):
        """Meta, part, parts and pinned are passed through."""
        meta = ChunkMeta(url="https://x.test", headings=("A", "B"))
        chunk = Chunk.create(
            "x",
            role="tool",
            kind="document",
            source="doc",
            part=2,
            parts=5,
            pinned=True,
            meta=meta,
        )
        assert (chunk.part, chunk.parts, chunk.pinned, chunk.meta) == (2, 5, True, meta)
        assert chunk.id == make_chunk_id("doc", 2, "x")


class TestJson:
    @given(chunks())
    def test_dict_round_trip(self, chunk):
        """Chunk -> dict -> Chunk is the identity."""
        assert Chunk.from_dict(chunk.to_dict()) == chunk

    @given(chunks())
    def test_json_round_trip(self, chunk):
        """Chunk -> JSON -> Chunk is the identity, and the JSON is plain data that
        the pydantic model accepts."""
        text = chunk.to_json()
        assert Chunk.from_json(text) == chunk
        assert Chunk.from_json(text.encode("utf-8", "surrogatepass")) == chunk
        data = json.loads(text)
        assert ChunkModel.model_validate(data).to_chunk() == chunk
        assert data["role"] in {r.value for r in Role}

    def test_to_dict_shape(self):
        """to_dict gives strings for role and kind and a dict for meta."""
        chunk = _chunk(meta=ChunkMeta(speaker="maria", start_ms=0, end_ms=900))
        assert chunk.to_dict() == {
            "id": "c1",
            "role": "user",
            "text": "Hello there",
            "tokens": 2,
            "source": "turn-0",
            "part": 0,
            "parts": 1,
            "kind": "turn",
            "pinned": False,
            "meta": {"speaker": "maria", "start_ms": 0, "end_ms": 900},
        }

    def test_optional_fields_may_be_left_out(self):
        """pinned and meta have defaults in the JSON form too."""
        data = _chunk().to_dict()
        del data["pinned"], data["meta"]
        assert Chunk.from_dict(data) == _chunk()

    @pytest.mark.parametrize(
        ("change", "match"),
        [
            ({"tokens": "2"}, "tokens"),
            ({"tokens": True}, "tokens"),
            ({"tokens": 2.0}, "tokens"),
            ({"role": "developer"}, "role"),
            ({"kind": "message"}, "kind"),
            ({"id": "not valid!"}, "id"),
            ({"extra": 1}, "extra"),
            ({"meta": {"colour": "red"}}, "meta.colour"),
            ({"meta": {"headings": "A"}}, "meta.headings"),
            ({"meta": {"start_ms": -5}}, "meta.start_ms"),
            ({"pinned": "yes"}, "pinned"),
        ],
    )
    def test_from_dict_rejects_bad_fields(self, change, match):
        """A malformed chunk dict raises ChunkError naming the field."""
        data = _chunk().to_dict() | change
        with pytest.raises(ChunkError, match=match):
            Chunk.from_dict(data)

    def test_from_json_rejects_escaped_lone_surrogates_in_meta(self):
        """JSON may spell a lone surrogate as an escape; reading it back is refused,
        so a chunk read from JSON can always be written again."""
        data = json.loads(_chunk().to_json())
        data["meta"] = {"speaker": "Ana"}
        text = json.dumps(data).replace("Ana", "\\ud800")
        with pytest.raises(ChunkError, match=r"speaker=.* lone surrogate"):
            Chunk.from_json(text)

    def test_from_dict_checks_invariants(self):
        """Invariants spanning fields are checked too (role/kind, part < parts)."""
        with pytest.raises(ChunkError, match="does not fit kind"):
            Chunk.from_dict(_chunk().to_dict() | {"kind": "document"})
        with pytest.raises(ChunkError, match="part=3"):
            Chunk.from_dict(_chunk().to_dict() | {"part": 3})

    def test_missing_field(self):
        """A missing required field is named."""
        data = _chunk().to_dict()
        del data["source"]
        with pytest.raises(ChunkError, match="source: Field required"):
            Chunk.from_dict(data)

    @pytest.mark.parametrize("text", ["", "{", "[]", "3", '"chunk"', b"\xff"])
    def test_from_json_rejects_non_objects(self, text):
        """Text that is not a JSON object raises ChunkError."""
        with pytest.raises(ChunkError):
            Chunk.from_json(text)


_EDGES = st.sampled_from(["", " ", "\n", "  ", "\n\n", " \t", "\r\n"])


class TestChunksOfText:
    @given(
        text=st.tuples(_EDGES, prose(max_words=60), _EDGES).map("".join),
        max_tokens=st.integers(8, 60),
    )
    @example(
        text="\U0001f469\u200d\U0001f4bb, http://example.com/a?b=1, ", max_tokens=10
    )
    def test_every_part_of_a_turn_holds_content(self, text, max_tokens):
        """A turn's parts join back to its text, are counted exactly within the
        bound, and none is whitespace alone (a chat reader would drop it)."""
        parts = chunks_of_text(
            text, max_tokens, role="user", kind="turn", source="turn-0"
        )
        assert "".join(c.text for c in parts) == text
        assert [(c.part, c.parts) for c in parts] == [
            (i, len(parts)) for i in range(len(parts))
        ]
        for chunk in parts:
            assert chunk.tokens == O200K.count(chunk.text) <= max_tokens
            assert chunk.text.strip(), parts

    def test_empty_text_is_one_empty_chunk(self):
        """Empty text still gives its one chunk, of no tokens."""
        (chunk,) = chunks_of_text(
            "", 10, role="tool", kind="tool_result", source="call-1"
        )
        assert (chunk.text, chunk.tokens, chunk.parts) == ("", 0, 1)


class TestSchema:
    def test_schema_describes_the_json_form(self):
        """The JSON schema names every field, requires the essential ones and lists
        the role and kind values."""
        schema = chunk_json_schema()
        assert schema["title"] == "Chunk"
        assert set(schema["properties"]) == {f.name for f in attrs.fields(Chunk)}
        assert set(schema["required"]) == {
            "id",
            "role",
            "text",
            "tokens",
            "source",
            "part",
            "parts",
            "kind",
        }
        assert schema["additionalProperties"] is False
        assert schema["properties"]["id"]["pattern"] == CHUNK_ID_PATTERN
        defs = schema["$defs"]
        assert defs["Role"]["enum"] == [r.value for r in Role]
        assert defs["Kind"]["enum"] == [k.value for k in Kind]
        meta_ref = schema["properties"]["meta"]["$ref"].rsplit("/", 1)[-1]
        assert defs[meta_ref]["title"] == "ChunkMeta"
        assert defs[meta_ref]["additionalProperties"] is False
        json.dumps(schema)
