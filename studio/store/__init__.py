"""The tenant store: every model module is imported here so metadata and migrations see them all."""

from studio.store import (  # noqa: F401
    ads_models,
    api_models,
    campaign_models,
    draft_models,
    event_models,
    feed_models,
    follow_models,
    models,
    notebook_models,
    operator_models,
    publishing_models,
    wordlist_models,
)
