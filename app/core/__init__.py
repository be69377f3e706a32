"""What every part of StampLib shares: settings, the catalogue and the object store."""
