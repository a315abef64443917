"""Argument checks shared by the public functions, with ctxchunk's error messages."""

from __future__ import annotations

from ctxchunk.exceptions import InvalidArgumentError, InvalidTypeError


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


def check_str(name: str, value: object) -> str:
    """Return ``value`` if it is a ``str``.

    Raises:
        InvalidTypeError: ``value`` is not a ``str``.
    """
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{name} must be a str, got {type(value).__name__}: {value!r:.80}"
        )
    return value
