"""Publishing: compile the database into a snapshot and hand it to gateways through Redis."""
