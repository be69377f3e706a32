"""One small thread pool for the image work that releases the GIL (OpenCV, PIL, torch):
on a 2-core machine, two images are cropped, described and encoded at once, and two
shortlisted specimens verified. Work run in the pool must not wait on the pool."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

POOL = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="vision")


def parallel_map(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`function` over `items` in the pool, results in order; exceptions propagate."""
    return list(POOL.map(function, items))
