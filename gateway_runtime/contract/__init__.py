"""The snapshot contract shared by the portal (writer) and the gateway (reader).

Nothing here imports Django: the gateway loads the same schema and checksum rules.
"""
