"""The tenant store: every model module is imported here so metadata and migrations see them all."""

from studio.store import campaign_models, models  # noqa: F401
