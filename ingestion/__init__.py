"""Taking specimen images into object storage, the catalogue and the index."""
