"""Domain-free geospatial helpers: CRS, I/O, partitioning, simplification, web and static maps."""
