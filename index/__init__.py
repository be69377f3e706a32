"""FAISS indexes keyed by catalogue ids: specimen embeddings and local descriptors."""

from index.descriptor_index import DescriptorIndex, Neighbours
from index.specimen_index import IndexMismatchError, SpecimenIndex

__all__ = ["DescriptorIndex", "IndexMismatchError", "Neighbours", "SpecimenIndex"]
