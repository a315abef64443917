"""The roles a model sees content under, and the kinds of content a chunk can hold.

A :class:`Role` says *who is speaking* to the model: the system prompt, the user, the
assistant itself, or a tool. Browsing and retrieved content is tool context, never
``user`` (the model would believe the user said it) and never ``system`` (the model
could not tell it from its own instructions). A :class:`Kind` says *what* a chunk is:
an instruction, a conversational turn, a document fragment, a tool call, a tool result
or a summary. The two are checked for coherence by :class:`ctxchunk.chunk.Chunk`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from ctxchunk.exceptions import InvalidTypeError, RoleError

__all__ = ["ROLE_ALIASES", "Kind", "Role"]


class Role(str, enum.Enum):
    """Who the model sees a chunk as coming from.

    The values are the Chat Completions spellings, so ``Role.USER == "user"``.
    """

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: Role | str) -> Role:
        """Return the role a wire-format spelling stands for.

        Accepts a :class:`Role`, one of its values, or an alias from
        :data:`ROLE_ALIASES`: ``"developer"`` (OpenAI's newer name for the system
        role) is :attr:`SYSTEM`; ``"function"`` (the legacy Chat Completions role) and
        ``"function_call_output"`` (a Realtime / Responses item type) are :attr:`TOOL`.
        Spellings are exact and lower-case, as on the wire.

        Args:
            value: The role or its spelling.

        Returns:
            The role.

        Raises:
            RoleError: ``value`` is a string that names no role.
            InvalidTypeError: ``value`` is not a string.

        >>> Role.parse("developer")
        <Role.SYSTEM: 'system'>
        """
        if isinstance(value, Role):
            return value
        if not isinstance(value, str):
            raise InvalidTypeError(
                f"role must be a Role or a str, got {type(value).__name__}: "
                f"{value!r:.80}; pass one of {_accepted(ROLE_ALIASES)}"
            )
        role = ROLE_ALIASES.get(value)
        if role is None:
            raise RoleError(
                f"unknown role {value!r:.80}; pass one of {_accepted(ROLE_ALIASES)}"
            )
        return role


ROLE_ALIASES: Mapping[str, Role] = MappingProxyType(
    {
        **{role.value: role for role in Role},
        "developer": Role.SYSTEM,
        "function": Role.TOOL,
        "function_call_output": Role.TOOL,
    }
)
"""Every spelling :meth:`Role.parse` accepts, with the role it stands for.

``developer`` is the system role's name in OpenAI's Chat Completions and Responses APIs
for o-series and later models; ``function`` is the deprecated Chat Completions role for
function results; ``function_call_output`` is the Realtime and Responses item type of a
tool result."""


class Kind(str, enum.Enum):
    """What a chunk holds, independently of who says it.

    ``document``, ``tool_call`` and ``tool_result`` chunks are always role ``tool``;
    ``ctxchunk.chunk.ROLES_BY_KIND`` gives the roles each kind may have.
    """

    INSTRUCTION = "instruction"
    TURN = "turn"
    DOCUMENT = "document"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    SUMMARY = "summary"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: Kind | str) -> Kind:
        """Return the kind named by ``value``.

        Args:
            value: A :class:`Kind` or one of its values, such as ``"tool_result"``.

        Returns:
            The kind.

        Raises:
            RoleError: ``value`` is a string that names no kind.
            InvalidTypeError: ``value`` is not a string.

        >>> Kind.parse("tool_call")
        <Kind.TOOL_CALL: 'tool_call'>
        """
        if isinstance(value, Kind):
            return value
        names = {kind.value: kind for kind in Kind}
        if not isinstance(value, str):
            raise InvalidTypeError(
                f"kind must be a Kind or a str, got {type(value).__name__}: "
                f"{value!r:.80}; pass one of {_accepted(names)}"
            )
        kind = names.get(value)
        if kind is None:
            raise RoleError(
                f"unknown kind {value!r:.80}; pass one of {_accepted(names)}"
            )
        return kind


def _accepted(names: Mapping[str, object]) -> str:
    return ", ".join(repr(name) for name in sorted(names))
