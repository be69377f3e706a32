"""Values kept per key: bounded, the least recently used dropped first, dropped by key."""

from __future__ import annotations

from vision.kept import Kept


def test_the_least_recently_used_go_first_and_a_lookup_counts_as_use() -> None:
    kept: Kept[int, str] = Kept(size=3)
    kept.keep({1: "a", 2: "b", 3: "c"})
    assert kept.found([1, 4]) == {1: "a"}  # 1 used again: 2 is now the oldest
    kept.keep({4: "d"})
    assert len(kept) == 3
    assert kept.found([1, 2, 3, 4]) == {1: "a", 3: "c", 4: "d"}


def test_values_are_dropped_by_key_or_all_at_once() -> None:
    kept: Kept[tuple[int, int], float | None] = Kept(size=10)
    kept.keep({(1, 2): 0.5, (2, 3): None, (4, 5): 1.0})
    kept.drop(lambda key: 2 in key)
    assert kept.found([(1, 2), (2, 3), (4, 5)]) == {(4, 5): 1.0}
    kept.drop()
    assert len(kept) == 0
