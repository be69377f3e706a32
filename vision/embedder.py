"""Embedders: the StampLib model or any open_clip architecture with a local weights file."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
from numpy.typing import NDArray
from safetensors.torch import load_file

from vision.errors import ModelLoadError
from vision.models import (
    DEFAULT_CONFIG,
    DEFAULT_MODEL,
    DEFAULT_PREPROCESS,
    DEFAULT_WEIGHTS,
    sidecar_path,
)

log = logging.getLogger(__name__)
_REGISTERED = threading.Lock()
_registered = False


def register_model_configs() -> None:
    """Make our model config known to open_clip, once."""
    global _registered
    with _REGISTERED:
        if not _registered:
            open_clip.add_model_config(DEFAULT_CONFIG)
            _registered = True


def free_cores() -> int:
    """Cores this process may use; torch is far slower when it oversubscribes a busy CPU."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def normalise_batch(images: torch.Tensor, preprocess: dict[str, Any]) -> torch.Tensor:
    """(N, 3, S, S) images in [0, 1] as the model is trained on and served: one function for
    both, so that training and search cannot disagree on the input."""
    mean = torch.tensor(preprocess["mean"], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(preprocess["std"], dtype=torch.float32).view(1, 3, 1, 1)
    return (images.float() - mean) / std


def load_state(model: torch.nn.Module, weights: Path) -> None:
    if not weights.is_file():
        raise ModelLoadError(f"weights file {weights} does not exist")
    try:
        state = (
            load_file(str(weights))
            if weights.suffix == ".safetensors"
            else torch.load(weights, map_location="cpu", weights_only=True)
        )
    except Exception as exc:
        raise ModelLoadError(f"cannot read weights {weights}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelLoadError(f"weights {weights} hold no state dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1:3]
        raise ModelLoadError(
            f"weights {weights.name} do not fit this architecture: {' '.join(first)}"
        ) from exc


class _RandomInitFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


@contextmanager
def _no_random_init_warning(weights_follow: bool) -> Iterator[None]:
    """open_clip warns on the root logger that a model built without a pretrained tag is
    initialised randomly; when our own weights are loaded next, that would mislead."""
    quiet = _RandomInitFilter()
    if weights_follow:
        logging.getLogger().addFilter(quiet)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(quiet)


@dataclass
class Embedder:
    """Images (square float RGB in [0, 1]) and texts to L2-normalised vectors."""

    model_name: str = DEFAULT_MODEL
    weights: Path | None = DEFAULT_WEIGHTS
    threads: int | None = None
    batch_size: int = 32
    _model: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def model_id(self) -> str:
        """Names the model and its exact weights, so an index can tell it was built by them."""
        digest = self.sidecar.get("weights_sha256", "")[:16] if self.weights else "random"
        return f"{self.model_name}@{digest}"

    @property
    def sidecar(self) -> dict[str, Any]:
        path = sidecar_path(self.weights) if self.weights else None
        return json.loads(path.read_text()) if path and path.is_file() else {}

    def load(self) -> None:
        """Build the model and load its weights; safe to call many times from many threads."""
        with self._lock:
            if self._model is not None:
                return
            register_model_configs()
            torch.set_num_threads(self.threads or free_cores())
            preprocess = self.sidecar.get("preprocess") or (
                DEFAULT_PREPROCESS if self.model_name == DEFAULT_MODEL else None
            )
            try:
                with _no_random_init_warning(self.weights is not None):
                    model = open_clip.create_model(
                        self.model_name, pretrained=None, force_preprocess_cfg=preprocess
                    )
            except RuntimeError as exc:
                raise ModelLoadError(
                    f"unknown model architecture {self.model_name!r}: {exc}"
                ) from exc
            if self.weights is not None:
                load_state(model, self.weights)
            model.eval()
            self._model = model
            log.info("loaded %s (%s)", self.model_name, self.weights or "random weights")

    @property
    def model(self) -> Any:
        self.load()
        return self._model

    @property
    def image_size(self) -> int:
        size = self.model.visual.image_size
        return int(size[0] if isinstance(size, tuple | list) else size)

    @property
    def dimension(self) -> int:
        return (
            int(self.model.text_projection.shape[1])
            if hasattr(self.model, "text_projection")
            else int(
                self.embed_images(
                    np.ones((1, self.image_size, self.image_size, 3), np.float32)
                ).shape[1]
            )
        )

    def _normalise(self, batch: NDArray[np.float32]) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2)
        return normalise_batch(tensor, self.model.visual.preprocess_cfg)

    def embed_images(self, images: NDArray[np.float32]) -> NDArray[np.float32]:
        """(N, S, S, 3) images in [0, 1] at the model's input size to (N, D) unit vectors."""
        model = self.model
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                features = model.encode_image(
                    self._normalise(images[start : start + self.batch_size])
                )
                outputs.append(torch.nn.functional.normalize(features, dim=-1).numpy())
        return (
            np.concatenate(outputs).astype(np.float32) if outputs else np.zeros((0, 0), np.float32)
        )

    def embed_texts(self, texts: list[str]) -> NDArray[np.float32]:
        tokenizer = open_clip.get_tokenizer(self.model_name)
        with torch.inference_mode():
            features = self.model.encode_text(tokenizer(texts))
            return torch.nn.functional.normalize(features, dim=-1).numpy().astype(np.float32)
