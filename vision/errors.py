"""Domain errors raised by the vision package; `app/` turns them into HTTP errors."""


class BadImageError(ValueError):
    """The bytes are not an image StampLib accepts; the message says why, for the user."""


class ModelLoadError(RuntimeError):
    """A model or its weights could not be loaded."""
