"""The StampLib stamp model: its open_clip config, committed weights and sidecar."""

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "stamplib-stamp"
DEFAULT_WEIGHTS = MODELS_DIR / f"{DEFAULT_MODEL}.safetensors"
DEFAULT_CONFIG = MODELS_DIR / f"{DEFAULT_MODEL}.json"
# The stamp model takes the flattened paper-white crops in [0, 1] as they are (its stem's
# first BatchNorm centres them): that is how its weights were trained.
DEFAULT_PREPROCESS = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}


def sidecar_path(weights: Path) -> Path:
    return weights.with_suffix(".sidecar.json")
