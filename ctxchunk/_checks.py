"""Argument checks shared by the public functions, with ctxchunk's error messages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, TypeVar

import attrs
from pydantic import AfterValidator, StrictStr
from pydantic_core import PydanticCustomError

from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError

_SURROGATE = re.compile("[\ud800-\udfff]")
_T = TypeVar("_T")


def check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) of at least ``minimum``.

    Raises:
        InvalidTypeError: ``value`` is not an ``int``.
        InvalidArgumentError: ``value`` is below ``minimum``.

    >>> check_int("max_tokens", 0, 1)
    Traceback (most recent call last):
    ...
    ctxchunk.exceptions.InvalidArgumentError: max_tokens=0 must be at least 1
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"{name} must be an int, got {type(value).__name__}: {value!r:.80}"
        )
    if value < minimum:
        raise InvalidArgumentError(f"{name}={value} must be at least {minimum}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is ``True`` or ``False``.

    Raises:
        InvalidTypeError: ``value`` is not a ``bool``.

    >>> check_bool("event_ids", 1)
    Traceback (most recent call last):
    ...
    ctxchunk.exceptions.InvalidTypeError: event_ids must be True or False, got int: 1
    """
    if not isinstance(value, bool):
        raise InvalidTypeError(
            f"{name} must be True or False, got {type(value).__name__}: {value!r:.80}"
        )
    return value


AttrsValidator = Callable[[Any, "attrs.Attribute[Any]", Any], None]
"""An attrs field validator: called with ``(instance, attribute, value)``, it raises
on a bad value."""


def int_at_least(minimum: int) -> AttrsValidator:
    """Return an attrs validator for an ``int`` field of at least ``minimum``.

    The error is :func:`check_int`'s. Compose with ``attrs.validators.optional`` to
    allow None.

    >>> @attrs.frozen
    ... class Limit:
    ...     keep: int = attrs.field(validator=int_at_least(1))
    >>> Limit(0)
    Traceback (most recent call last):
    ...
    ctxchunk.exceptions.InvalidArgumentError: keep=0 must be at least 1
    """

    def validate(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_int(attribute.name, value, minimum)

    return validate


def is_bool(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an attrs field that must be True or False (see :func:`check_bool`)."""
    check_bool(attribute.name, value)


def meta_str_in(choices: Iterable[str], what: str) -> AttrsValidator:
    """Return an attrs validator for a string field that must be one of ``choices``.

    The value is checked with :func:`check_meta_str` first; a string not among
    ``choices`` is an error saying it is not ``what`` and listing the choices.

    >>> @attrs.frozen
    ... class Pick:
    ...     fruit: str = attrs.field(validator=meta_str_in(("apple",), "a fruit"))
    >>> Pick("stone")
    Traceback (most recent call last):
    ...
    ctxchunk.exceptions.InvalidArgumentError: fruit='stone' is not a fruit; pass one of 'apple'
    """  # noqa: E501
    allowed = tuple(choices)

    def validate(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_meta_str(attribute.name, value)
        if value not in allowed:
            raise InvalidArgumentError(
                f"{attribute.name}={value!r:.80} is not {what}; pass one of "
                f"{', '.join(map(repr, allowed))}"
            )

    return validate


def check_items(name: str, value: object, item: type[_T]) -> list[_T]:
    """Return ``value`` as a list if it is an iterable of ``item`` instances.

    A str, bytes or mapping is not taken for a list.

    Raises:
        InvalidTypeError: ``value`` is not such an iterable, or holds another type.

    >>> check_items("chunks", [1, "2"], int)
    Traceback (most recent call last):
    ...
    ctxchunk.exceptions.InvalidTypeError: chunks[1] must be int, got str: '2'
    """
    # Lists and tuples pass without asking the (slower) abstract base classes.
    if not isinstance(value, (list, tuple)) and (
        isinstance(value, (str, bytes, bytearray, Mapping))
        or not isinstance(value, Iterable)
    ):
        raise InvalidTypeError(
            f"{name} must be a list of {item.__name__}, got {type(value).__name__}: "
            f"{value!r:.80}"
        )
    items = list(value)
    for index, entry in enumerate(items):
        if not isinstance(entry, item):
            raise InvalidTypeError(
                f"{name}[{index}] must be {item.__name__}, got "
                f"{type(entry).__name__}: {entry!r:.80}"
            )
    return items


def load_json(text: str) -> object:
    """Parse standard JSON: unlike ``json.loads``, ``NaN`` and ``Infinity`` are refused.

    Raises:
        ValueError: ``text`` is not JSON (a ``json.JSONDecodeError``), or holds
            ``NaN``, ``Infinity`` or ``-Infinity``, which no other JSON parser reads.

    >>> load_json('{"x": NaN}')
    Traceback (most recent call last):
    ...
    ValueError: NaN is not a JSON value
    """
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


def check_str(name: str, value: object) -> str:
    """Return ``value`` if it is a ``str``.

    Use it for content (text that is tokenized, which reports a lone surrogate
    itself); use :func:`check_meta_str` for ids, names and other metadata.

    Raises:
        InvalidTypeError: ``value`` is not a ``str``.
    """
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{name} must be a str, got {type(value).__name__}: {value!r:.80}"
        )
    return value


def lone_surrogate(value: str) -> str | None:
    r"""Return why ``value`` cannot be written as UTF-8, or None if it can.

    A lone surrogate (U+D800 to U+DFFF) has no UTF-8 encoding, so a string holding
    one makes any JSON or file it is written to fail, or unreadable elsewhere.

    >>> lone_surrogate("ab\ud800")
    "holds a lone surrogate (U+D800) at offset 2, which is not valid Unicode text; decode your input with errors='replace' or remove it"
    """  # noqa: E501
    if value.isascii():
        return None
    found = _SURROGATE.search(value)
    if found is None:
        return None
    return (
        f"holds a lone surrogate (U+{ord(found.group()):04X}) at offset "
        f"{found.start()}, which is not valid Unicode text; decode your input with "
        f"errors='replace' or remove it"
    )


def _writable(value: str) -> str:
    problem = lone_surrogate(value)
    if problem is not None:
        raise PydanticCustomError("surrogate", "{problem}", {"problem": problem})
    return value


WritableStr = Annotated[StrictStr, AfterValidator(_writable)]
"""A pydantic field type for strings read at the edge that are written back as
UTF-8 JSON (ids, names, speakers, a session's text): a lone surrogate in one fails
validation with :func:`lone_surrogate`'s message, on the line it came in on."""


def check_meta_str(name: str, value: object) -> str:
    """Return ``value`` if it is a ``str`` that can be written as UTF-8 JSON.

    For ids, names, urls, speakers and other metadata, which are never tokenized:
    a lone surrogate in them would only fail later, when the state is saved.

    Raises:
        InvalidTypeError: ``value`` is not a ``str``.
        InvalidArgumentError: ``value`` holds a lone surrogate; the message gives
            its offset.

    >>> check_meta_str("call_id", "call_1")
    'call_1'
    """
    value = check_str(name, value)
    problem = lone_surrogate(value)
    if problem is not None:
        raise InvalidArgumentError(f"{name}={value!r:.80} {problem}")
    return value


def check_optional_meta_str(name: str, value: object) -> str | None:
    """Return ``value`` if it is None or passes :func:`check_meta_str`.

    Raises:
        InvalidTypeError: ``value`` is neither None nor a ``str``.
        InvalidArgumentError: ``value`` holds a lone surrogate.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{name} must be a str or None, got {type(value).__name__}: {value!r:.80}"
        )
    return check_meta_str(name, value)


def dump_json(
    name: str,
    value: object,
    *,
    sort_keys: bool = False,
    separators: tuple[str, str] = (",", ":"),
) -> str:
    """Return ``value`` as standard JSON text (compact by default), as the wire needs.

    ``NaN`` and the infinities are refused: ``json.dumps`` would write them as
    ``NaN`` / ``Infinity``, which no JSON parser on the other end accepts.

    Args:
        name: The argument ``value`` came in as, for the error message.
        value: Plain JSON data: dicts with str keys, lists, str, int, finite float,
            bool and None.
        sort_keys: Write object keys in sorted order.
        separators: As for ``json.dumps``.

    Returns:
        The JSON text (non-ASCII characters are kept as they are).

    Raises:
        InvalidTypeError: ``value`` holds something that is not JSON data.
        InvalidArgumentError: ``value`` holds NaN or an infinity, or refers to
            itself.

    >>> dump_json("arguments", {"city": "Oslo", "days": 3})
    '{"city":"Oslo","days":3}'
    >>> dump_json("arguments", {"limit": float("nan")})
    Traceback (most recent call last):
    ...
    ctxchunk.exceptions.InvalidArgumentError: arguments={'limit': nan} holds NaN or an infinity, which JSON cannot represent; pass finite numbers (or None, or the value as a string)
    """  # noqa: E501
    try:
        return json.dumps(
            value,
            ensure_ascii=False,
            allow_nan=False,
            sort_keys=sort_keys,
            separators=separators,
        )
    except TypeError as exc:
        raise InvalidTypeError(
            f"{name}={value!r:.80} is not plain JSON data (dict, list, str, int, "
            f"float, bool, None): {exc}; convert the value, or pass JSON text"
        ) from None
    except ValueError as exc:
        if "circular" in str(exc).lower():
            raise InvalidArgumentError(
                f"{name} refers to itself ({exc}); pass a tree of plain JSON data"
            ) from None
        raise InvalidArgumentError(
            f"{name}={value!r:.80} holds NaN or an infinity, which JSON cannot "
            f"represent; pass finite numbers (or None, or the value as a string)"
        ) from None
