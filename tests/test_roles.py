"""Tests for ctxchunk.roles: Role and Kind and their parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctxchunk.exceptions import (
    CtxChunkError,
    InvalidArgumentError,
    InvalidTypeError,
    RoleError,
)
from ctxchunk.roles import ROLE_ALIASES, Kind, Role


class TestRole:
    def test_values_are_the_chat_completions_spellings(self):
        """Each role's value is the role string the OpenAI APIs use."""
        assert [r.value for r in Role] == ["system", "user", "assistant", "tool"]

    def test_is_a_str(self):
        """A role compares, formats and serializes as its plain string."""
        assert Role.USER == "user"
        assert str(Role.TOOL) == "tool"
        assert f"{Role.SYSTEM}" == "system"
        assert isinstance(Role.ASSISTANT, str)


class TestRoleParse:
    @pytest.mark.parametrize("role", list(Role))
    def test_role_passes_through(self, role):
        """A Role is returned as it is."""
        assert Role.parse(role) is role

    @pytest.mark.parametrize(
        ("spelling", "role"),
        [
            ("system", Role.SYSTEM),
            ("user", Role.USER),
            ("assistant", Role.ASSISTANT),
            ("tool", Role.TOOL),
            ("developer", Role.SYSTEM),
            ("function", Role.TOOL),
            ("function_call_output", Role.TOOL),
        ],
    )
    def test_wire_spellings(self, spelling, role):
        """Every wire spelling maps to its role: developer is system; legacy
        function results and Realtime function_call_output items are tool."""
        assert Role.parse(spelling) is role

    @pytest.mark.parametrize(
        "spelling", ["User", "SYSTEM", " user", "user ", "", "bot", "model", "human"]
    )
    def test_unknown_spelling_is_rejected_with_the_accepted_list(self, spelling):
        """A spelling that is not exact names the value and lists the accepted ones."""
        with pytest.raises(RoleError) as info:
            Role.parse(spelling)
        message = str(info.value)
        assert repr(spelling) in message
        for accepted in ROLE_ALIASES:
            assert repr(accepted) in message

    @pytest.mark.parametrize("value", [None, 1, b"user", ["user"]])
    def test_non_string_is_a_type_error(self, value):
        """A value that is not a string raises InvalidTypeError (a TypeError)."""
        with pytest.raises(InvalidTypeError, match="role must be a Role or a str"):
            Role.parse(value)

    def test_kind_value_is_not_a_role(self):
        """A Kind, although a str, is not a role spelling."""
        with pytest.raises(RoleError):
            Role.parse(Kind.TURN)

    def test_role_error_is_an_invalid_argument(self):
        """RoleError is caught by except CtxChunkError, InvalidArgumentError and
        ValueError."""
        assert issubclass(RoleError, InvalidArgumentError)
        assert issubclass(RoleError, CtxChunkError)
        assert issubclass(RoleError, ValueError)

    @given(st.text(max_size=30))
    def test_parse_agrees_with_the_alias_table(self, text):
        """Any string parses to its entry in ROLE_ALIASES, or raises RoleError."""
        if text in ROLE_ALIASES:
            assert Role.parse(text) is ROLE_ALIASES[text]
        else:
            with pytest.raises(RoleError):
                Role.parse(text)


class TestKind:
    def test_values(self):
        """The kinds are the six the chunk model names."""
        assert [k.value for k in Kind] == [
            "instruction",
            "turn",
            "document",
            "tool_call",
            "tool_result",
            "summary",
        ]

    @pytest.mark.parametrize("kind", list(Kind))
    def test_parse_round_trips(self, kind):
        """Kind.parse accepts a Kind or its value."""
        assert Kind.parse(kind) is kind
        assert Kind.parse(kind.value) is kind
        assert str(kind) == kind.value

    def test_parse_rejects_unknown(self):
        """An unknown kind names the value and the accepted ones."""
        with pytest.raises(RoleError, match=r"unknown kind 'message'.*'tool_call'"):
            Kind.parse("message")
        with pytest.raises(InvalidTypeError):
            Kind.parse(3)  # type: ignore[arg-type]
