"""The descriptor index: votes find a specimen by its own descriptors, exact and inverted-file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from index import DescriptorIndex
from index.descriptor_index import IVF_FROM, VOTERS
from vision.verify import homography_from


def descriptors(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.integers(0, 60, (count, 128)).astype(np.uint8)


def noisy(rng: np.random.Generator, original: np.ndarray) -> np.ndarray:
    """A photo's descriptors of a specimen: each value off by up to 3."""
    return np.clip(original.astype(int) + rng.integers(-3, 4, original.shape), 0, 255).astype(
        np.uint8
    )


@pytest.mark.parametrize("specimens", [10, IVF_FROM // 300 + 10])
def test_votes_find_a_specimen_from_its_noisy_descriptors(specimens: int) -> None:
    rng = np.random.default_rng(0)
    library = {specimen_id: descriptors(rng, 300) for specimen_id in range(1, specimens + 1)}
    index = DescriptorIndex()
    index.bulk_load(list(library.items()))
    query = noisy(rng, library[7])
    votes = index.neighbours(query).votes()
    assert max(votes, key=votes.__getitem__) == 7

    index.remove(7)
    assert 7 not in index.neighbours(query).votes()
    index.add(7, library[7])  # added one by one, as a follower adds a new specimen
    votes = index.neighbours(query).votes()
    assert max(votes, key=votes.__getitem__) == 7
    assert len(index) == specimens * 300


def test_every_near_twin_gets_correspondences_though_more_share_a_descriptor_than_vote() -> None:
    """Sixteen designs share one set of marks (a font, a border): each query descriptor's ten
    nearest cannot hold all of them, yet verification of any one needs its own pairs; a
    design that shares nothing gets none, however far down the neighbour lists it lies."""
    rng = np.random.default_rng(1)
    shared = descriptors(rng, 200)
    family = {
        specimen_id: np.clip(shared.astype(int) + rng.integers(-2, 3, shared.shape), 0, 255)
        for specimen_id in range(1, 17)
    }
    library = {i: d.astype(np.uint8) for i, d in family.items()} | {17: descriptors(rng, 200)}
    index = DescriptorIndex()
    index.bulk_load(list(library.items()))
    query = np.clip(shared.astype(int) + rng.integers(-2, 3, shared.shape), 0, 255)
    neighbours = index.neighbours(query.astype(np.uint8))

    for specimen_id in family:
        rows, keypoints = neighbours.correspondences(specimen_id)
        assert len(rows) >= 0.9 * len(shared)
        assert np.mean(rows == keypoints) >= 0.9  # descriptor i of the query is keypoint i
    assert len(neighbours.correspondences(17)[0]) == 0


def test_a_graph_over_the_lists_centres_finds_the_neighbours_comparing_every_centre_finds() -> None:
    """Many inverted lists are searched through a graph over their centres (HNSW): each
    descriptor's nearest is the one comparing it with every centre finds, and so nearly all
    its voters (on random descriptors, the graph's worst case: many are all but equally far;
    of 100,000 SIFT descriptors of a 10,000-specimen library, the graph placed each as
    comparing did).
    Specimens added one by one and removed are found and forgotten as before."""
    rng = np.random.default_rng(2)
    library = {specimen_id: descriptors(rng, 300) for specimen_id in range(1, IVF_FROM // 300 + 10)}
    compared, graph = DescriptorIndex(graph_from=10**9), DescriptorIndex(graph_from=1)
    for index in (compared, graph):
        index.bulk_load(list(library.items()))
    assert (compared.layout, graph.layout) == ("inverted lists", "inverted lists, graph")
    query = noisy(rng, library[7])
    expected, found = compared.neighbours(query), graph.neighbours(query)
    assert np.mean(found.specimen[:, 0] == expected.specimen[:, 0]) >= 0.99
    assert np.mean(found.keypoint[:, 0] == expected.keypoint[:, 0]) >= 0.99
    assert np.mean(found.specimen[:, :VOTERS] == expected.specimen[:, :VOTERS]) >= 0.9
    assert found.votes() == expected.votes()

    graph.remove(7)
    assert 7 not in graph.neighbours(query).votes()
    graph.add(7, library[7])
    votes = graph.neighbours(query).votes()
    assert max(votes, key=votes.__getitem__) == 7


@pytest.mark.parametrize("seed", range(16))
def test_keypoints_many_query_descriptors_name_pair_once_and_the_view_is_found(seed: int) -> None:
    """Marks a stamp repeats (dots of a ring): ninety of the photo's descriptors are nearest
    to one of three keypoints of the specimen, which the photo shows 25 of. Paired many to
    one they outvote the true view (RANSAC collapses the photo onto those points: 4 of these 16
    seeds before pairs were one to one); paired once, with the nearest, the rotation and
    scale the photo was taken at are found."""
    rng = np.random.default_rng(seed)
    own = descriptors(rng, 60)
    points = rng.uniform(20, 380, (60, 2)).astype(np.float32)
    index = DescriptorIndex()
    index.bulk_load([(1, own), (2, descriptors(rng, 60))])
    angle = np.deg2rad(30)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    photo_points = ((points[:25] - 200) @ turn.T * 1.2 + 200).astype(np.float32)
    dots = own[[k % 3 for k in range(90)]].astype(int) + rng.integers(-6, 7, (90, 128))
    query = np.vstack([noisy(rng, own[:25]), np.clip(dots, 0, 255).astype(np.uint8)])
    query_points = np.vstack([photo_points, rng.uniform(0, 400, (90, 2))]).astype(np.float32)

    rows, keypoints = index.neighbours(query).correspondences(1)

    assert len(np.unique(keypoints)) == len(keypoints)
    assert sorted(rows[keypoints < 3].tolist()) == [0, 1, 2]  # each dot's nearest: its own
    homography, _ = homography_from(query_points[rows], points[keypoints])
    assert homography is not None
    recovered = cv2.perspectiveTransform(
        photo_points.reshape(-1, 1, 2).astype(np.float64), homography
    )
    assert np.abs(recovered.reshape(-1, 2) - points[:25]).max() < 1.0
