"""StampLib application: wiring of API, pages and CLI around vision, index and ingestion."""
