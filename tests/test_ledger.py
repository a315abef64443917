"""The ledger's unit lists: both kinds behave as an ordered set (list model)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ctxchunk._ledger import DList, SlotList, Unit, UnitList
from ctxchunk.chunk import Chunk


def _unit(index: int) -> Unit:
    chunk = Chunk.create(f"turn {index}", role="user", kind="turn", source=f"t{index}")
    return Unit((chunk,), chunk.tokens)


# An operation: (what, which unit, which unit to insert after or -1 for first).
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["append", "insert", "remove"]),
        st.integers(0, 11),
        st.integers(-1, 11),
    ),
    max_size=60,
)


@given(_OPS)
def test_unit_lists_keep_the_order_of_a_plain_list(
    ops: list[tuple[str, int, int]],
) -> None:
    units = [_unit(i) for i in range(12)]
    # A slot list and a dict-based one, checked against a plain list after every
    # operation; a second slot list shares the first one's slot (as the role lists
    # do) and holds units of its own throughout.
    slot, other = SlotList(1), SlotList(1)
    strangers = [_unit(i) for i in range(12, 15)]
    for unit in strangers:
        other.append(unit)
    lists: list[UnitList] = [slot, DList()]
    model: list[Unit] = []
    for what, at, after in ops:
        unit = units[at]
        if what == "remove":
            if unit in model:
                index = model.index(unit)
                before = model[index - 1] if index else None
                model.remove(unit)
                assert all(lst.remove(unit) is before for lst in lists)
        elif unit not in model:
            if what == "append":
                model.append(unit)
                for lst in lists:
                    lst.append(unit)
            else:
                anchor = units[after] if after >= 0 and units[after] in model else None
                model.insert(0 if anchor is None else model.index(anchor) + 1, unit)
                for lst in lists:
                    lst.insert_after(unit, anchor)
        for lst in lists:
            assert list(lst) == model
            assert list(lst.reversed()) == model[::-1]
            assert len(lst) == len(model)
            assert lst.head is (model[0] if model else None)
            assert lst.tail is (model[-1] if model else None)
            for index, held in enumerate(model):
                assert lst.before(held) is (model[index - 1] if index else None)
                assert lst.after(held) is (
                    model[index + 1] if index + 1 < len(model) else None
                )
        assert all((u in slot) == (u in model) for u in units)
        # Lists sharing a slot never claim, or disturb, each other's units.
        assert not any(u in other for u in units)
        assert not any(u in slot for u in strangers)
        assert list(other) == strangers
        assert list(other.reversed()) == strangers[::-1]


def test_iteration_goes_on_after_the_unit_just_seen_is_removed() -> None:
    units = [_unit(i) for i in range(5)]
    slot = SlotList(0)
    for unit in units:
        slot.append(unit)
    seen = []
    for unit in slot:
        seen.append(unit)
        if unit is units[1]:
            slot.remove(unit)
            slot.remove(units[3])
    assert seen == [units[0], units[1], units[2], units[4]]


@given(st.integers(0, 8), st.sets(st.integers(0, 7)), st.booleans())
def test_either_walk_goes_on_after_each_unit_removed_as_it_is_seen(
    size: int, dropped: set[int], newest_first: bool
) -> None:
    # Recommended masks tool context newest first while it walks (a masked page
    # part may leave, merged into its neighbour's marker).
    for lst in (SlotList(0), DList()):
        units = [_unit(i) for i in range(size)]
        for unit in units:
            lst.append(unit)
        seen = []
        for unit in lst.reversed() if newest_first else lst:
            seen.append(unit)
            if units.index(unit) in dropped:
                lst.remove(unit)
        assert seen == (units[::-1] if newest_first else units)
        kept = [u for i, u in enumerate(units) if i not in dropped]
        assert list(lst) == kept
        assert list(lst.reversed()) == kept[::-1]


def test_a_removed_unit_holds_no_other_unit() -> None:
    # Links are cleared on removal: no cycle keeps an evicted unit alive until
    # the garbage collector runs.
    slot = SlotList(0)
    first, second = _unit(0), _unit(1)
    slot.append(first)
    slot.append(second)
    slot.remove(first)
    assert not any(isinstance(link, (Unit, SlotList)) for link in first.links)
    assert not any(link is first for link in second.links)
    assert list(slot) == [second]


def test_candidates_are_the_same_units_and_equal_parts_on_every_walk() -> None:
    # WindowView.candidates documents it: a policy may keep what it saw in a set
    # (Recommended keeps its head so).
    from ctxchunk.policies import DropOldest
    from ctxchunk.window import ContextWindow

    window = ContextWindow(20_000, chunk_tokens=100, policy=DropOldest())
    window.add_turn("user", "Look it up, please.")
    window.add_tool_call("search", {"q": "lamp"}, "lamp refund policy. " * 80)
    window.add_turn("assistant", "Here is what I found.")
    view = window._view
    first, second = list(view.candidates()), list(view.candidates())
    assert any(not unit.whole for unit in first)  # the result's parts
    assert first == second
    assert all(a is b for a, b in zip(first, second, strict=True) if a.whole)
    assert {hash(a) for a in first} == {hash(b) for b in second}
    assert set(first) == set(second)
