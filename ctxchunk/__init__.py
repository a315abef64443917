# This is the public API of ctxchunk.
"""ctxchunk keeps an LLM agent's context window inside its token budget."""

from ctxchunk._version import __version__
from ctxchunk.change import Change, Eviction, Reason, Replacement, Truncation
from ctxchunk.chunk import (
    Chunk,
    ChunkMeta,
    chunk_json_schema,
    chunks_of_text,
    make_chunk_id,
)
from ctxchunk.documents import chunk_document
from ctxchunk.exceptions import CtxChunkError
from ctxchunk.models import ModelSpec, model_spec
from ctxchunk.policies import (
    Chain,
    ClearToolResults,
    DropOldest,
    MiddleOut,
    Policy,
    Recommended,
    RetentionRatio,
    RolePriority,
    Summarize,
)
from ctxchunk.render import (
    RealtimeMirror,
    to_anthropic,
    to_openai_chat,
    to_realtime_events,
    to_responses_input,
    tool_definitions,
)
from ctxchunk.roles import Kind, Role
from ctxchunk.session import Session, dump_session, load_session
from ctxchunk.simulate import SimulationResult, WholeUpdateBaseline, simulate
from ctxchunk.split import Piece, split_text
from ctxchunk.tokens import Tokenizer, count_messages, get_tokenizer
from ctxchunk.transcript import chunk_transcript
from ctxchunk.window import ContextWindow

__all__ = [
    "Chain",
    "Change",
    "Chunk",
    "ChunkMeta",
    "ClearToolResults",
    "ContextWindow",
    "CtxChunkError",
    "DropOldest",
    "Eviction",
    "Kind",
    "MiddleOut",
    "ModelSpec",
    "Piece",
    "Policy",
    "RealtimeMirror",
    "Reason",
    "Recommended",
    "Replacement",
    "RetentionRatio",
    "Role",
    "RolePriority",
    "Session",
    "SimulationResult",
    "Summarize",
    "Tokenizer",
    "Truncation",
    "WholeUpdateBaseline",
    "__version__",
    "chunk_document",
    "chunk_json_schema",
    "chunk_transcript",
    "chunks_of_text",
    "count_messages",
    "dump_session",
    "get_tokenizer",
    "load_session",
    "make_chunk_id",
    "model_spec",
    "simulate",
    "split_text",
    "to_anthropic",
    "to_openai_chat",
    "to_realtime_events",
    "to_responses_input",
    "tool_definitions",
]
