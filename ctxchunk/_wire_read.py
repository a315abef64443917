"""The one reader of OpenAI message content: Chat Completions, Responses, Realtime.

:func:`read_content` turns a message's ``content`` (a string, or a list of content
parts) into the text ctxchunk keeps. :mod:`ctxchunk.transcript` (``chunk_transcript``)
and the importers of :mod:`ctxchunk.session` both read content through it, so a part
is accepted, placed or rejected the same way everywhere.

Text parts give their text: ``text`` / ``input_text`` / ``output_text`` (``text``),
``refusal`` (``refusal``), and audio parts with a transcript (``transcript``).

Media parts are never rejected. Each becomes a placeholder line that names it and
keeps its metadata, such as ``[image: https://x.org/a.png · detail: low]`` or
``[audio: input_audio · format: wav · 48,000 base64 characters · no transcript]``.
The placeholder is counted like any text, with the window's tokenizer, so counts
stay exact for what ctxchunk renders. It is not what the provider bills for the
media itself: OpenAI bills an image by its size and ``detail`` (its vision guide: at
``low`` detail a flat 85 tokens for GPT-4o-class models; at ``high``, the image
scaled to fit 2048x2048 and then to 768 px on its shorter side, 170 tokens per
512 px tile plus 85), and a content part carries no pixel size, so ctxchunk does not
add that cost. Audio is billed by duration.

Part types and fields, from the OpenAI API reference: Chat ``image_url``
(``image_url: {url, detail}``), ``input_audio`` (``input_audio: {data, format}``) and
``file`` (``file: {file_id, filename, file_data}``); Responses ``input_image``
(``image_url``, ``file_id``, ``detail``) and ``input_file`` (``file_id``,
``filename``, ``file_url``, ``file_data``); Realtime ``input_audio`` /
``output_audio`` (``audio``, ``transcript``), and the beta's ``audio``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = ["PartError", "ReadContent", "read_content"]

TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
REFUSAL_PARTS = frozenset({"refusal"})
AUDIO_PARTS = frozenset({"input_audio", "output_audio", "audio"})
IMAGE_PARTS = frozenset({"image_url", "input_image"})
FILE_PARTS = frozenset({"file", "input_file"})
ACCEPTED_PARTS = ", ".join(
    sorted(TEXT_PARTS | REFUSAL_PARTS | AUDIO_PARTS | IMAGE_PARTS | FILE_PARTS)
)
PART_JOIN = "\n"
"""Between the parts of one message: a newline keeps two parts from running into one
word."""

_REF_CHARS = 200
"""The longest address a placeholder shows; a longer one is cut with an ellipsis."""


class PartError(ValueError):
    """A content part that cannot be read; the message names it by ``where``."""


@attrs.frozen
class ReadContent:
    """What a message's content reads as.

    Attributes:
        text: The parts' texts and placeholders, joined with a newline.
        placeholders: How many parts became placeholders.
        parts: How many parts there were (1 for a string content, 0 for none).
    """

    text: str
    placeholders: int
    parts: int

    @property
    def only_placeholders(self) -> bool:
        """Whether every part was a placeholder (no text was read)."""
        return self.parts > 0 and self.placeholders == self.parts


def read_content(content: object, where: str = "content") -> ReadContent:
    r"""Read a message's content: a string, a list of parts, or None.

    Args:
        content: The ``content`` of a Chat message or a Responses / Realtime item.
        where: How errors name the content (``content``, ``output``...).

    Returns:
        The text, with a placeholder for each media part.

    Raises:
        PartError: ``content`` is neither a string nor a list, a part is not an
            object, has an unknown ``type``, or is a text part without its text.

    >>> read_content([{"type": "text", "text": "Look:"},
    ...     {"type": "image_url", "image_url": {"url": "https://x.org/a.png"}}]).text
    'Look:\n[image: https://x.org/a.png]'
    """
    if content is None:
        return ReadContent("", 0, 0)
    if isinstance(content, str):
        return ReadContent(content, 0, 1)
    if not isinstance(content, Sequence):
        raise PartError(
            f"{where} should be a string or a list of content parts, got "
            f"{type(content).__name__}"
        )
    texts: list[str] = []
    placeholders = 0
    for k, part in enumerate(content):
        text, placeholder = read_part(part, f"{where}.{k}")
        texts.append(text)
        placeholders += placeholder
    return ReadContent(PART_JOIN.join(texts), placeholders, len(texts))


def read_part(part: object, where: str) -> tuple[str, bool]:
    """Read one content part: its text, and whether it is a placeholder.

    Raises:
        PartError: see :func:`read_content`.
    """
    if not isinstance(part, Mapping):
        raise PartError(f"{where} should be a content part object, got {part!r:.60}")
    kind = part.get("type")
    if not isinstance(kind, str):
        raise PartError(f"{where} has no 'type'; ctxchunk reads {ACCEPTED_PARTS}")
    if kind in TEXT_PARTS or kind in REFUSAL_PARTS:
        key = "refusal" if kind in REFUSAL_PARTS else "text"
        value = part.get(key)
        if not isinstance(value, str):
            raise PartError(f"{where} ({kind}) has no {key!r} string")
        return value, False
    if kind in AUDIO_PARTS:
        transcript = part.get("transcript")
        if isinstance(transcript, str):
            return transcript, False
        return _audio(kind, part), True
    if kind in IMAGE_PARTS:
        return _image(part), True
    if kind in FILE_PARTS:
        return _file(kind, part), True
    raise PartError(
        f"{where} has type {kind!r:.40}, which ctxchunk does not read; it reads "
        f"{ACCEPTED_PARTS} parts"
    )


def _image(part: Mapping[str, Any]) -> str:
    url = part.get("image_url")
    detail = part.get("detail")
    if isinstance(url, Mapping):  # Chat: {"url", "detail"}
        detail = url.get("detail", detail)
        url = url.get("url")
    fields = [_ref(url, part.get("file_id"))]
    if isinstance(detail, str):
        fields.append(f"detail: {detail}")
    return _placeholder("image", fields)


def _audio(kind: str, part: Mapping[str, Any]) -> str:
    inner = part.get("input_audio")
    source = inner if isinstance(inner, Mapping) else part  # Chat nests the data
    fields = [kind]
    audio_format = source.get("format")
    if isinstance(audio_format, str):
        fields.append(f"format: {audio_format}")
    data = source.get("data", source.get("audio"))
    if isinstance(data, str):
        fields.append(f"{len(data):,} base64 characters")
    fields.append("no transcript")
    return _placeholder("audio", fields)


def _file(kind: str, part: Mapping[str, Any]) -> str:
    inner = part.get("file")
    source = inner if isinstance(inner, Mapping) else part  # Chat nests the file
    fields = [kind]
    filename = source.get("filename")
    if isinstance(filename, str):
        fields.append(filename)
    fields.append(_ref(source.get("file_url"), source.get("file_id")))
    data = source.get("file_data")
    if isinstance(data, str):
        fields.append(f"{len(data):,} characters of data")
    return _placeholder("file", [f for f in fields if f])


def _ref(url: object, file_id: object) -> str:
    if isinstance(url, str) and url:
        if url.startswith("data:"):
            header, _, data = url.partition(",")
            return f"{header}, {len(data):,} characters"
        return url if len(url) <= _REF_CHARS else url[: _REF_CHARS - 1] + "…"
    if isinstance(file_id, str) and file_id:
        return f"file_id: {file_id}"
    return ""


def _placeholder(what: str, fields: Sequence[str]) -> str:
    shown = [f for f in fields if f]
    return f"[{what}: {' · '.join(shown)}]" if shown else f"[{what}]"
