"""FAISS vector index of specimen embeddings, keyed by catalogue ids."""

from index.specimen_index import IndexMismatchError, SpecimenIndex

__all__ = ["IndexMismatchError", "SpecimenIndex"]
