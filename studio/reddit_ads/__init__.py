"""Reddit paid ads: the Ads API client, ads connections, syncing a set idempotently, metrics (issue 21)."""
