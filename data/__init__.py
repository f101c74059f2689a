"""County facts, action-plan zones and the column map, shipped with the package as ``layers.data``."""
