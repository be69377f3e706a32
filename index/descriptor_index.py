"""Local-descriptor index: every SIFT descriptor of every specimen, searched all at once.

A query's descriptors vote for the specimens their nearest neighbours belong to. Near-twins
share most descriptors, so each query descriptor votes for every specimen among its
nearest neighbours that lies close to the best one, not only for the first: a design is
found by its distinctive words without its twin being shut out. The neighbours found also
serve as correspondences for geometric verification, so no per-candidate matching is done.

Descriptor ids encode (specimen id, keypoint number) as specimen_id * SLOT + keypoint.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import faiss
import numpy as np
from numpy.typing import NDArray

SLOT = 1024  # keypoints per specimen at most
VOTERS = 10  # each query descriptor's nearest library descriptors that may vote
# nearest found per query descriptor: the voters, and beyond them the correspondences that
# verification fits a homography to. A design's keypoint is often not among a descriptor's
# ten nearest (its near-twins and other designs share fonts and borders); on validation
# world 7777, 60 verify the right design for a third more hard photos for 1 ms more.
NEIGHBOURS = 60
CLOSE = 1.5  # a neighbour votes when its distance is within this factor of the best
# a neighbour further than this factor of a descriptor's best is no correspondence; near-twins'
# copies of one mark can lie over twice as far as the best (on validation world 7777, 3 keeps as
# many right designs verified as no limit, 1.5 loses a tenth of the hard photos')
PAIRED = 3.0
MAX_DISTANCE = 0.5  # squared RootSIFT distance beyond which a neighbour is no match
IVF_FROM = 20_000  # descriptors from which an inverted-file index pays off
NPROBE = 4  # inverted lists searched per descriptor: on the 1,000-design bench world, votes
# find the design as often as with 8 or 16 lists, in half the time
# From this many inverted lists, a descriptor's nearest lists are found through a graph over
# their centres (HNSW) rather than by comparing it with every centre: at 10,000 specimens
# (4.9 M descriptors, 8,868 lists) a search's 500 descriptors took 19 ms to place, 8 ms so.
GRAPH_FROM = 4_000
GRAPH_LINKS = 32
# how far the graph is searched, when a descriptor is added and searched: placing 100,000 of
# those 4.9 M, 64 chose each one's nearest centre as comparing with all did, and found 99.99% of
# the four nearest lists of 20,000 of them (on validation world 7777 at 10,000 specimens, 400
# searches through it gave the same first results and decisions as comparing)
GRAPH_SEARCH = 64


def root_sift(descriptors: NDArray[np.uint8]) -> NDArray[np.float32]:
    """RootSIFT (Hellinger kernel): L1-normalise, then square root; compares SIFT better than L2."""
    values = descriptors.astype(np.float32)
    values /= values.sum(axis=1, keepdims=True) + 1e-7
    return np.sqrt(values).astype(np.float32)


def _near(distance: NDArray[np.float32], factor: float) -> NDArray[np.bool_]:
    """Neighbours within `factor` of their descriptor's best distance and near enough to match
    at all (`distance`: Q x K, nearest first)."""
    return np.asarray((distance <= distance[:, :1] * factor + 1e-6) & (distance < MAX_DISTANCE))


@dataclass(frozen=True)
class Neighbours:
    """For each query descriptor, its nearest library descriptors."""

    specimen: NDArray[np.int64]  # (Q, K) specimen ids, -1 where none
    keypoint: NDArray[np.int64]  # (Q, K)
    distance: NDArray[np.float32]  # (Q, K)

    def votes(self) -> dict[int, float]:
        """Soft votes per specimen: each query descriptor shares one vote among close neighbours.

        The r-th distinct close specimen among a descriptor's VOTERS nearest gets 1/r.
        """
        specimen = self.specimen[:, :VOTERS]
        close = (specimen >= 0) & _near(self.distance[:, :VOTERS], CLOSE)
        first = close.copy()
        for column in range(1, specimen.shape[1]):
            earlier = (specimen[:, :column] == specimen[:, column : column + 1]) & close[:, :column]
            first[:, column] &= ~earlier.any(axis=1)
        rank = np.cumsum(first, axis=1)
        weights = np.where(first, 1.0 / np.maximum(rank, 1), 0.0)
        owners, inverse = np.unique(specimen[first], return_inverse=True)
        totals = np.bincount(inverse, weights=weights[first], minlength=len(owners))
        return {int(owner): float(total) for owner, total in zip(owners, totals, strict=True)}

    def correspondences(self, specimen_id: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(query, specimen) keypoint pairs: each query descriptor's nearest of that specimen,
        when it lies within PAIRED of the descriptor's best neighbour's distance. Down a long
        neighbour list, a small library's every specimen turns up at some distance; those
        pairs would only bury the good ones under outliers.

        One to one: a specimen keypoint that several query descriptors name (a dot, a blob,
        a mark the stamp repeats) pairs only with the nearest of them. Many pairs onto a few
        points are a consensus RANSAC can prefer, the photo collapsed onto those points, which
        no camera gives: the specimen then went unverified however many good pairs it had.
        Replayed on validation worlds 7777 and 7778 (200 phone, 200 hard, 200 unknown photos
        each), the right design came first for 1 and 5 more phone photos (hard: -1 and +4),
        phone photos decided `match` went 154 -> 156 and 150 -> 151, unknown stamps matched
        stayed 0 and 1; verification took no longer (fewer pairs to fit)."""
        rows, cols = np.nonzero((self.specimen == specimen_id) & self._paired)
        first = np.unique(rows, return_index=True)[1]
        rows, cols = rows[first], cols[first]
        keypoints = self.keypoint[rows, cols]
        nearest_first = np.argsort(self.distance[rows, cols], kind="stable")
        once = np.sort(nearest_first[np.unique(keypoints[nearest_first], return_index=True)[1]])
        return rows[once].astype(np.int64), keypoints[once]

    @cached_property
    def _paired(self) -> NDArray[np.bool_]:
        """Which neighbours may pair: the same for every candidate a search verifies."""
        return _near(self.distance, PAIRED)


class DescriptorIndex:
    """Exact search while small; beyond, an inverted-file index with 8-bit scalar-quantised
    vectors (a quarter of the memory of floats), retrained as the library doubles; with many
    lists, a descriptor's nearest lists are found through a graph over their centres.

    The raw SIFT descriptors (one byte per dimension) are kept for retraining."""

    def __init__(self, *, graph_from: int = GRAPH_FROM) -> None:
        self._graph_from = graph_from
        self._items: dict[int, NDArray[np.uint8]] = {}
        self._index: faiss.Index = faiss.IndexIDMap(faiss.IndexFlatL2(128))
        self._built_at = 0
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, specimen_id: int, descriptors: NDArray[np.uint8]) -> None:
        if len(descriptors) == 0:
            return
        kept = np.ascontiguousarray(descriptors[:SLOT], dtype=np.uint8)
        with self._lock:
            self.remove(specimen_id)
            self._items[specimen_id] = kept
            self._index.add_with_ids(
                root_sift(kept), specimen_id * SLOT + np.arange(len(kept), dtype=np.int64)
            )
            if len(self) >= IVF_FROM and len(self) >= 2 * self._built_at:
                self._rebuild()

    def remove(self, specimen_id: int) -> None:
        with self._lock:
            self._items.pop(specimen_id, None)
            self._index.remove_ids(
                faiss.IDSelectorRange(specimen_id * SLOT, (specimen_id + 1) * SLOT)
            )

    def bulk_load(self, items: list[tuple[int, NDArray[np.uint8]]]) -> None:
        """Replace the contents with these specimens' descriptors."""
        with self._lock:
            self._items = {
                s: np.ascontiguousarray(d[:SLOT], dtype=np.uint8) for s, d in items if len(d)
            }
            self._rebuild()

    def _rebuild(self) -> None:
        if not self._items:
            self._index, self._built_at = faiss.IndexIDMap(faiss.IndexFlatL2(128)), 0
            return
        data = root_sift(np.concatenate(list(self._items.values())))
        keys = np.concatenate(
            [s * SLOT + np.arange(len(v), dtype=np.int64) for s, v in self._items.items()]
        )
        index: faiss.Index
        if len(data) >= IVF_FROM:
            lists = int(min(4 * np.sqrt(len(data)), len(data) // 40))
            index = faiss.IndexIVFScalarQuantizer(
                self._centres(lists), 128, lists, faiss.ScalarQuantizer.QT_8bit
            )
            # k-means compares with every centre, then hands the centres to what finds a
            # descriptor's nearest (the same centres as k-means on that finder when it is flat)
            index.quantizer_trains_alone = chr(2)
            sample = np.random.default_rng(0).choice(
                len(data), min(len(data), lists * 40), replace=False
            )
            index.train(data[sample])
            index.nprobe = NPROBE
        else:
            index = faiss.IndexIDMap(faiss.IndexFlatL2(128))
        index.add_with_ids(data, keys)
        self._index, self._built_at = index, len(data)

    @property
    def layout(self) -> str:
        """How the index is searched: `exact`, `inverted lists` or `inverted lists, graph`."""
        with self._lock:
            if not isinstance(self._index, faiss.IndexIVF):
                return "exact"
            graph = isinstance(faiss.downcast_index(self._index.quantizer), faiss.IndexHNSWFlat)
            return "inverted lists, graph" if graph else "inverted lists"

    def _centres(self, lists: int) -> faiss.Index:
        """What finds a descriptor's nearest inverted lists: all centres compared, or a graph."""
        if lists < self._graph_from:
            return faiss.IndexFlatL2(128)
        graph = faiss.IndexHNSWFlat(128, GRAPH_LINKS)
        graph.hnsw.efSearch = GRAPH_SEARCH
        return graph

    def neighbours(self, descriptors: NDArray[np.uint8], k: int = NEIGHBOURS) -> Neighbours:
        if len(descriptors) == 0 or len(self) == 0:
            empty = np.zeros((0, k), dtype=np.int64)
            return Neighbours(empty, empty, np.zeros((0, k), dtype=np.float32))
        with self._lock:
            distance, ids = self._index.search(root_sift(descriptors), k)
        specimen = np.where(ids >= 0, ids // SLOT, -1)
        return Neighbours(specimen, np.where(ids >= 0, ids % SLOT, -1), distance)
