"""County facts, action-plan zones and the column map (shipped in the wheel as ``layers.data``)."""
