"""`stamplib train`: the stamp model from scratch on the synthetic world, on a CPU.

Two contrastive losses: phone photo vs clean specimen of the same design (what search
needs), and image vs caption from metadata (which makes the image embedding carry the
BCP name and direction that tell near-twins apart). A batch holds near-twins side by side
(hard negatives). Once the weights are fixed, every BatchNorm's statistics are recomputed
on fresh batches (see `refresh_batch_norm`).

Throughput on a 2-core CPU: the model runs on one thread in channels-last layout (about
a third faster than contiguous for these convolutions) while two worker processes render
photos; rendering a batch takes longer than a step, so two renderers share the cores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
from safetensors.torch import save_file
from torch.nn import functional
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from vision.embedder import load_state, normalise_batch, register_model_configs
from vision.models import DEFAULT_MODEL, DEFAULT_PREPROCESS, sidecar_path
from vision.training.data import Batch, PairSampler, training_designs

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    out: Path
    seed: int = 0
    steps: int = 3000
    batch: int = 48
    designs: int = 6000
    lr: float = 1.5e-3
    warmup: int = 80
    max_minutes: float = 85.0
    text_weight: float = 0.5
    norm_batches: int = 25  # batches the BatchNorm statistics are recomputed on
    workers: int = 2  # rendering processes


class _Stream(IterableDataset[Batch]):
    def __init__(self, options: TrainOptions, side: int) -> None:
        self.options = options
        self.side = side

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker = info.id if info else 0
        torch.set_num_threads(1)
        designs = training_designs(self.options.seed, self.options.designs)
        sampler = PairSampler(
            designs,
            batch=self.options.batch,
            side=self.side,
            seed=self.options.seed * 1000 + worker,
        )
        return iter(sampler)


def _clip_loss(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    logits = scale * a @ b.T
    target = torch.arange(len(a))
    return (
        functional.cross_entropy(logits, target) + functional.cross_entropy(logits.T, target)
    ) / 2


def _lr(step: int, options: TrainOptions) -> float:
    if step < options.warmup:
        return options.lr * (step + 1) / options.warmup
    progress = (step - options.warmup) / max(1, options.steps - options.warmup)
    return options.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _new_model() -> tuple[Any, int]:
    register_model_configs()
    model = open_clip.create_model(
        DEFAULT_MODEL, pretrained=None, force_preprocess_cfg=DEFAULT_PREPROCESS
    )
    size = model.visual.image_size
    return model, int(size if isinstance(size, int) else size[0])


def _encode(model: Any, batch: Batch) -> torch.Tensor:
    """Photos then specimens, normalised exactly as the embedder normalises them."""
    images = torch.cat([batch.photos, batch.specimens])
    images = normalise_batch(images, model.visual.preprocess_cfg)
    return model.encode_image(images.contiguous(memory_format=torch.channels_last))


def refresh_batch_norm(model: Any, batches: Iterable[Batch], count: int) -> int:
    """Recompute every BatchNorm's running mean and variance as plain averages over `count`
    batches of photos and specimens, the weights fixed; return the batches used.

    The running averages kept during training trail weights that were still changing, and
    search runs the model in eval mode on those averages. Before this step, and while search
    normalised inputs that training had not, the committed model's embedding ranked the
    right design in the first 10 for 12% of validation phone photos (seed 7777, 60 photos);
    after both were mended, for 75%."""
    kinds = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)
    norms = [m for m in model.modules() if isinstance(m, kinds)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    model.train()
    used = 0
    with torch.no_grad():
        for batch in batches:
            if used >= count:
                break
            _encode(model, batch)
            used += 1
    model.eval()
    return used


def refresh(options: TrainOptions) -> dict[str, Any]:
    """Only `refresh_batch_norm` on the weights already in `options.out`."""
    torch.set_num_threads(1)
    model, side = _new_model()
    weights = options.out / f"{DEFAULT_MODEL}.safetensors"
    load_state(model, weights)
    used = refresh_batch_norm(model, iter(_Stream(options, side)), options.norm_batches)
    path = sidecar_path(weights)
    sidecar = json.loads(path.read_text()) if path.is_file() else {}
    sidecar["weights_sha256"] = _write_weights(model, weights)
    sidecar["preprocess"] = DEFAULT_PREPROCESS
    sidecar.setdefault("training", {})["batch_norm"] = {"batches": used, "seed": options.seed}
    path.write_text(json.dumps(sidecar, indent=2) + "\n")
    return sidecar


def train(options: TrainOptions) -> dict[str, Any]:
    torch.manual_seed(options.seed)
    torch.set_num_threads(1)
    model, side = _new_model()
    model = model.to(memory_format=torch.channels_last)
    tokenizer = open_clip.get_tokenizer(DEFAULT_MODEL)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "logit_scale" not in n]
    rest = [p for n, p in model.named_parameters() if p.ndim < 2 or "logit_scale" in n]
    optimiser = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
        lr=options.lr,
        betas=(0.9, 0.98),
    )
    loader = DataLoader(
        _Stream(options, side),
        batch_size=None,
        num_workers=options.workers,
        prefetch_factor=4,
        persistent_workers=True,
    )
    curve: list[dict[str, float]] = []
    started = time.perf_counter()
    model.train()
    batches = iter(loader)
    for step, batch in enumerate(batches):
        if step >= options.steps or (time.perf_counter() - started) / 60 > options.max_minutes:
            break
        for group in optimiser.param_groups:
            group["lr"] = _lr(step, options)
        images = functional.normalize(_encode(model, batch), dim=-1)
        photos, specimens = images[: len(batch.photos)], images[len(batch.photos) :]
        texts = functional.normalize(model.encode_text(tokenizer(batch.captions)), dim=-1)
        scale = model.logit_scale.exp().clamp(max=100)
        pair_loss = _clip_loss(photos, specimens, scale)
        text_loss = (_clip_loss(photos, texts, scale) + _clip_loss(specimens, texts, scale)) / 2
        loss = pair_loss + options.text_weight * text_loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
        with torch.no_grad():
            accuracy = float(
                (photos @ specimens.T).argmax(dim=1).eq(torch.arange(len(photos))).float().mean()
            )
        curve.append(
            {
                "step": step,
                "loss": loss.item(),
                "pair_loss": pair_loss.item(),
                "text_loss": text_loss.item(),
                "batch_top1": accuracy,
                "minutes": (time.perf_counter() - started) / 60,
            }
        )
        if step % 20 == 0:
            log.info(
                "step %d loss %.3f pair %.3f text %.3f top1 %.2f (%.1f min)",
                step,
                loss.item(),
                pair_loss.item(),
                text_loss.item(),
                accuracy,
                curve[-1]["minutes"],
            )
        if step % 200 == 0 and step:
            _save(model, options, curve, final=False)
    used = refresh_batch_norm(model, batches, options.norm_batches)
    return _save(model, options, curve, final=True, norm_batches=used)


def _write_weights(model: torch.nn.Module, weights: Path) -> str:
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(weights))
    return hashlib.sha256(weights.read_bytes()).hexdigest()


def _save(
    model: torch.nn.Module,
    options: TrainOptions,
    curve: list[dict[str, float]],
    *,
    final: bool,
    norm_batches: int = 0,
) -> dict[str, Any]:
    weights = options.out / f"{DEFAULT_MODEL}.safetensors"
    digest = _write_weights(model, weights)
    sidecar = {
        "model": DEFAULT_MODEL,
        "weights_sha256": digest,
        "preprocess": DEFAULT_PREPROCESS,
        "training": {
            "seed": options.seed,
            "steps": len(curve),
            "batch": options.batch,
            "designs": options.designs,
            "minutes": round(curve[-1]["minutes"], 1) if curve else 0,
            "final": final,
            "batch_norm": {"batches": norm_batches, "seed": options.seed},
        },
    }
    path = sidecar_path(weights)
    if path.is_file():  # keep thresholds and other keys written by calibration
        sidecar = {**json.loads(path.read_text()), **sidecar}
    path.write_text(json.dumps(sidecar, indent=2) + "\n")
    (options.out / "training_curve.json").write_text(json.dumps(curve))
    _plot_curve(curve, options.out / "training_curve.png")
    return sidecar


def _plot_curve(curve: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not curve:
        return
    steps = np.array([c["step"] for c in curve])
    window = 20

    def smooth(key: str) -> np.ndarray:
        values = np.array([c[key] for c in curve])
        return (
            np.convolve(values, np.ones(window) / window, mode="valid")
            if len(values) > window
            else values
        )

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    for key in ("loss", "pair_loss", "text_loss"):
        left.plot(steps[: len(smooth(key))], smooth(key), label=key)
    left.set_xlabel("step")
    left.legend()
    left.set_title("training loss")
    right.plot(steps[: len(smooth("batch_top1"))], smooth("batch_top1"))
    right.set_xlabel("step")
    right.set_ylim(0, 1)
    right.set_title("photo → specimen top-1 within a batch")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
