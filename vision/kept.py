"""Values computed once per key and kept, bounded: the least recently used go first.

Search keeps specimens' local features (loaded from the catalogue), near-twins'
alignments onto each other and first results' words and outlines (computed from their
features) between searches; all are dropped by key when a specimen's vectors change.
Safe to share between threads: two that miss the same key at once both compute it, and the
second keeps the same value.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def found(self, keys: Iterable[K]) -> dict[K, V]:
        """The kept values of these keys (those kept), now the most recently used."""
        with self._lock:
            found = {key: self._values[key] for key in keys if key in self._values}
            for key in found:
                self._values.move_to_end(key)
        return found

    def value(self, key: K, compute: Callable[[], V]) -> V:
        """The kept value of `key`, or else `compute()`'s, kept from now on."""
        found = self.found([key])
        if key in found:
            return found[key]
        value = compute()
        self.keep({key: value})
        return value

    def keep(self, values: Mapping[K, V]) -> None:
        with self._lock:
            for key, value in values.items():
                self._values[key] = value
                self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def drop(self, which: Callable[[K], bool] | None = None) -> None:
        """Drop the keys `which` is true of; every key without it."""
        with self._lock:
            if which is None:
                self._values.clear()
                return
            for key in [key for key in self._values if which(key)]:
                del self._values[key]
