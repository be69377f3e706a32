"""The StampLib stamp model: its open_clip config, committed weights and sidecar."""

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "stamplib-stamp"
DEFAULT_WEIGHTS = MODELS_DIR / f"{DEFAULT_MODEL}.safetensors"
DEFAULT_CONFIG = MODELS_DIR / f"{DEFAULT_MODEL}.json"
# Inputs are flattened paper-white crops: centre and scale them for the first convolution.
DEFAULT_PREPROCESS = {"mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}


def sidecar_path(weights: Path) -> Path:
    return weights.with_suffix(".sidecar.json")
