"""Embedders: committed weights give the recorded embeddings; any checkpoint round-trips exactly."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
from safetensors.torch import save_file

from tests.conftest import stamp_image
from vision.embedder import Embedder, register_model_configs
from vision.errors import ModelLoadError
from vision.models import DEFAULT_PREPROCESS, DEFAULT_WEIGHTS
from vision.normalise import model_input

RECORDED = Path(__file__).parent / "recorded_embedding.json"


def fixed_input(side: int) -> np.ndarray:
    return model_input(stamp_image("KLIA"), side)[None]


def test_committed_weights_give_the_recorded_embedding() -> None:
    embedder = Embedder()
    vector = embedder.embed_images(fixed_input(embedder.image_size))[0]
    recorded = json.loads(RECORDED.read_text())
    assert recorded["weights_sha256"] == embedder.sidecar["weights_sha256"]
    np.testing.assert_allclose(vector, np.array(recorded["embedding"], dtype=np.float32), atol=2e-4)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_a_random_open_clip_checkpoint_round_trips(tmp_path: Path) -> None:
    register_model_configs()
    torch.manual_seed(3)
    model = open_clip.create_model(
        "stamplib-stamp", pretrained=None, force_preprocess_cfg=DEFAULT_PREPROCESS
    )
    model.eval()
    path = tmp_path / "random.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    image = fixed_input(192)
    mean = torch.tensor(DEFAULT_PREPROCESS["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(DEFAULT_PREPROCESS["std"]).view(1, 3, 1, 1)
    with torch.inference_mode():
        direct = torch.nn.functional.normalize(
            model.encode_image((torch.from_numpy(image).permute(0, 3, 1, 2) - mean) / std), dim=-1
        ).numpy()
    reloaded = Embedder(weights=path).embed_images(image)
    np.testing.assert_array_equal(reloaded, direct)


def test_weights_that_do_not_fit_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "wrong.safetensors"
    save_file({"visual.conv1.weight": torch.zeros(3, 3, 3, 3)}, str(path))
    with pytest.raises(ModelLoadError, match="do not fit this architecture"):
        Embedder(weights=path).load()
    with pytest.raises(ModelLoadError, match="does not exist"):
        Embedder(weights=tmp_path / "missing.safetensors").load()


def test_another_open_clip_architecture_loads_from_a_local_file(tmp_path: Path) -> None:
    """Any open_clip architecture works with a local weights file (here RN50 text tower shape)."""
    model = open_clip.create_model("RN50", pretrained=None)
    path = tmp_path / "rn50.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    embedder = Embedder(model_name="RN50", weights=path)
    vectors = embedder.embed_images(fixed_input(embedder.image_size))
    assert vectors.shape == (1, 1024)
    assert DEFAULT_WEIGHTS.name.endswith(".safetensors")


def record() -> None:
    """Record the embedding of new weights: `python -m tests.vision.test_embedder`."""
    embedder = Embedder()
    vector = embedder.embed_images(fixed_input(embedder.image_size))[0]
    RECORDED.write_text(
        json.dumps(
            {
                "weights_sha256": embedder.sidecar["weights_sha256"],
                "embedding": [round(float(v), 6) for v in vector],
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    record()


def test_only_a_model_without_weights_is_reported_as_random(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """open_clip says every model it builds is "initialized randomly"; with our weights
    loaded right after, an operator must not read that."""
    with caplog.at_level(logging.WARNING):
        Embedder().load()
    assert not [r for r in caplog.records if "initialized randomly" in r.getMessage()]
    with caplog.at_level(logging.WARNING):
        Embedder(weights=None).load()
    assert [r for r in caplog.records if "initialized randomly" in r.getMessage()]
