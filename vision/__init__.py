"""Vision: decoding, localisation, embedding, matching, comparison and synthetic stamps."""
