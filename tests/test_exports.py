"""The public API: ``ctxchunk.__all__`` is complete, sorted and importable."""

from __future__ import annotations

import ctxchunk


def test_all_is_sorted():
    """``__all__`` is kept in sorted order."""
    assert ctxchunk.__all__ == sorted(ctxchunk.__all__)


def test_all_names_exist():
    """Every name in ``__all__`` can be imported from the package."""
    for name in ctxchunk.__all__:
        assert hasattr(ctxchunk, name), name


def test_every_public_import_is_exported():
    """Each public name the package module binds is listed in ``__all__``."""
    public = {
        name
        for name, value in vars(ctxchunk).items()
        if not name.startswith("_") and not isinstance(value, type(ctxchunk))
    }
    assert public <= set(ctxchunk.__all__)


def test_api_reference_lists_every_public_name():
    """docs/api.md has a row for every name in ``__all__``, so it cannot fall behind."""
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    missing = [
        name
        for name in ctxchunk.__all__
        if name != "__version__" and f"`{name}" not in page
    ]
    assert missing == []
