"""Training: what the model is trained on is what search feeds it, in the mode search runs it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional

from vision.embedder import Embedder
from vision.models import DEFAULT_MODEL, sidecar_path
from vision.training.data import Batch, PairSampler, training_designs
from vision.training.train import TrainOptions, _encode, _new_model, refresh_batch_norm, train


def _batches(count: int, size: int = 6) -> list[Batch]:
    sampler = PairSampler(training_designs(0, 40), batch=size, side=192, seed=5)
    stream = iter(sampler)
    return [next(stream) for _ in range(count)]


def test_refreshed_batch_norm_serves_what_training_saw() -> None:
    """In eval mode, a model whose statistics were refreshed on a batch embeds that batch as
    train mode does; with the statistics it started with, it does not."""
    torch.manual_seed(0)
    model, _ = _new_model()
    batch = _batches(1)[0]
    model.train()
    with torch.no_grad():
        trained = functional.normalize(_encode(model, batch), dim=-1)
        model.eval()
        stale = functional.normalize(_encode(model, batch), dim=-1)
    assert float((stale - trained).abs().max()) > 0.05

    assert refresh_batch_norm(model, iter([batch, batch, batch]), 1) == 1
    assert not model.training
    with torch.no_grad():
        served = functional.normalize(_encode(model, batch), dim=-1)
    np.testing.assert_allclose(served.numpy(), trained.numpy(), atol=2e-3)


def test_trained_weights_embed_as_training_encoded(tmp_path: Path) -> None:
    """A short run end to end: the embedder loading its weights sees the input exactly as
    training normalised it, and the sidecar says how the statistics were made."""
    options = TrainOptions(out=tmp_path, steps=2, batch=4, designs=40, warmup=1, norm_batches=2)
    sidecar = train(options)
    assert sidecar["training"]["batch_norm"] == {"batches": 2, "seed": 0}
    weights = tmp_path / f"{DEFAULT_MODEL}.safetensors"
    assert (
        json.loads(sidecar_path(weights).read_text())["weights_sha256"]
        == (sidecar["weights_sha256"])
    )

    batch = _batches(1, size=4)[0]
    embedder = Embedder(weights=weights)
    photos = batch.photos.permute(0, 2, 3, 1).numpy()
    specimens = batch.specimens.permute(0, 2, 3, 1).numpy()
    served = embedder.embed_images(np.concatenate([photos, specimens]))
    model = embedder.model
    with torch.no_grad():
        encoded = functional.normalize(_encode(model, batch), dim=-1).numpy()
    np.testing.assert_allclose(served, encoded, atol=1e-5)
