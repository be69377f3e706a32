"""Reading a photo where its first result's BCP name is."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vision.features import stamp_features
from vision.fields import variable_lines
from vision.localise import crop, specimen_box
from vision.names import name_lines, read_name, similarity
from vision.synth.photo import render_specimen
from vision.synth.world import SyntheticWorld
from vision.verify import align

WORLD = SyntheticWorld(seed=3, specimens=40)


def features_of(rgb: np.ndarray):  # type: ignore[no-untyped-def]
    stamp = crop(rgb, specimen_box(rgb))
    features = stamp_features(stamp)
    return replace(features, variable=variable_lines([(stamp, features.ink)])[0])


def test_a_specimen_reads_as_its_name_where_its_length_fits() -> None:
    """Names set straight are read; a name along a stamp's rim is not (a line reader does
    not follow a curve)."""
    straight = [i for i, d in enumerate(WORLD.designs) if d.style.layout == "stack"][:6]
    assert len(straight) == 6
    for index in straight:
        specimen = features_of(WORLD.specimen(index))
        name = WORLD.designs[index].bcp_name
        assert 1 <= len(name_lines(specimen, name)) <= 2
        reading = read_name(specimen.ink, specimen, np.eye(3), name)
        assert reading.similarity >= 0.9, (name, reading)


def test_a_copy_naming_another_bcp_reads_otherwise() -> None:
    design = WORLD.designs[5]
    specimen = features_of(WORLD.specimen(5))
    inking = WORLD.specimen_inking(5)
    renamed = replace(design, bcp_name=f"NORTHGATE {design.bcp_name.split(' ', 1)[-1]}")
    copy = features_of(render_specimen(renamed, inking.date, inking.counter, seed=2))
    homography, inliers = align(copy, specimen)
    assert homography is not None and inliers > 50  # the copy looks like the specimen
    reading = read_name(copy.ink, specimen, homography, design.bcp_name)
    assert similarity(reading.text, renamed.bcp_name) >= 0.9  # it reads as what it names
    genuine = features_of(render_specimen(design, inking.date, inking.counter, seed=2))
    homography, _ = align(genuine, specimen)
    assert homography is not None
    read = read_name(genuine.ink, specimen, homography, design.bcp_name)
    assert read.similarity >= 0.95 and reading.similarity <= read.similarity - 0.15
