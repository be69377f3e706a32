"""Plots and the contact sheet a person looks at to judge the benchmark and its world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from vision.synth.world import SPLITS, SyntheticWorld


def plot_recall(results: dict[str, Any], path: Path) -> None:
    methods = results["methods"]
    fig, axes = plt.subplots(1, len(SPLITS), figsize=(4 * len(SPLITS), 3.4), sharey=True)
    for axis, split in zip(axes, SPLITS, strict=True):
        for name, method in methods.items():
            summary = method["splits"].get(split)
            if summary:
                ks = [1, 5, 10]
                axis.plot(ks, [summary[f"recall@{k}"] for k in ks], marker="o", label=name)
        axis.set_title(f"{split} split")
        axis.set_xlabel("k")
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("recall@k")
    axes[-1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(latencies: dict[str, list[float]], path: Path) -> None:
    fig, axis = plt.subplots(figsize=(6, 3.4))
    for name, values in latencies.items():
        if values:
            axis.hist(
                values, bins=40, alpha=0.6, label=f"{name} (p50 {np.percentile(values, 50):.0f} ms)"
            )
    axis.set_xscale("log")
    axis.set_xlabel("search latency per query (ms, log scale)")
    axis.set_ylabel("queries")
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _tile(rgb: NDArray[np.uint8], side: int, label: str) -> NDArray[np.uint8]:
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    small = cv2.resize(
        rgb, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA
    )
    tile = np.full((side + 24, side, 3), 255, dtype=np.uint8)
    y, x = (side - small.shape[0]) // 2, (side - small.shape[1]) // 2
    tile[24 + y : 24 + y + small.shape[0], x : x + small.shape[1]] = small
    cv2.putText(
        tile, label[:48], (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (20, 20, 20), 1, cv2.LINE_AA
    )
    return tile


def contact_sheet(world: SyntheticWorld, path: Path, rows: int = 8, side: int = 300) -> None:
    """Specimens beside a scan, a phone photo and a hard photo of the same design, and unknowns."""
    lines = []
    step = max(1, len(world.designs) // rows)
    for row in range(rows):
        index = row * step
        design = world.designs[index]
        tiles = [_tile(world.specimen(index), side, f"specimen {design.design_id}")]
        for split in SPLITS:
            query = world.query_of(index, split, 10_000 + row)
            tiles.append(_tile(query.photo.rgb, side, f"{split} query"))
        unknown = world.unknown_query(10_000 + row)
        tiles.append(_tile(unknown.photo.rgb, side, f"not in library: {unknown.design.bcp_name}"))
        lines.append(np.hstack(tiles))
    sheet = np.vstack(lines)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def plot_scale(scale: dict[str, dict[str, Any]], path: Path) -> None:
    """Search latency and index memory against library size (log-log)."""
    sizes = sorted(scale, key=int)
    counts = [int(size) for size in sizes]
    fig, (latency, memory) = plt.subplots(1, 2, figsize=(9, 3.4))
    latency.plot(counts, [scale[s]["p50_ms"] for s in sizes], marker="o", label="p50")
    latency.plot(counts, [scale[s]["p95_ms"] for s in sizes], marker="o", label="p95")
    latency.plot(
        counts, [scale[s]["filtered_p50_ms"] for s in sizes], marker="s", label="p50, 1% filter"
    )
    latency.set_ylabel("search latency (ms)")
    memory.plot(counts, [scale[s]["memory_mb"] for s in sizes], marker="o", color="tab:red")
    memory.set_ylabel("index memory (MB)")
    for axis in (latency, memory):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("vectors in the index")
        axis.grid(alpha=0.3)
    latency.legend(fontsize=8)
    for size in sizes:
        latency.annotate(
            scale[size]["kind"], (int(size), scale[size]["p50_ms"]), fontsize=7, va="bottom"
        )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_roc(curve: dict[str, list[float]], auc: float, path: Path) -> None:
    """ROC of the comparison score: forged flagged against genuine flagged."""
    fig, axis = plt.subplots(figsize=(4.2, 4))
    axis.plot(curve["fpr"], curve["tpr"], label=f"comparison score (AUC {auc:.3f})")
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axis.axvline(0.05, color="tab:red", linewidth=0.8, label="5% of genuine flagged")
    axis.set_xlabel("genuine photos flagged")
    axis.set_ylabel("forged variants flagged")
    axis.legend(fontsize=7, loc="lower right")
    axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
