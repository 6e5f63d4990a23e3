"""A set whose templates read an aggregate over the whole data set follows its feed exactly (issue 19 items 3
and 4): a row that leaves can move its category's minimum in rows whose own data did not change."""

from __future__ import annotations

from studio import campaigns, set_follow
from tests.studio.test_set_follow import CONFIG, generated, new_version, stored, team, v2_rows  # noqa: F401
from tests.workers.test_generation import env  # noqa: F401


def test_rows_whose_category_minimum_moved_are_rewritten(pg_store, env, team):  # noqa: F811
    ctx, ds_id = team
    config = {**CONFIG, "templates": {**CONFIG["templates"], "body": "{{ category }} from ${{ category_min_price }}"},
              "aggregates": [{"name": "category_min_price", "agg": "min", "of": "price", "by": ["category"]}]}
    set_id = campaigns.create(pg_store, ctx, "Cheapest follower", ds_id, config, follow_mode="auto")
    generated(pg_store, env, ctx, set_id)
    before = {key: fields["body"] for key, _, _, fields in stored(pg_store, ctx, set_id)}
    assert before["s06"] == "cat0 from $10"  # s00 is cat0's cheapest
    rows = [r for r in v2_rows() if not r.startswith("s00")]  # s00 leaves: s06 (16) is now the cheapest of cat0
    new_version(pg_store, env, ctx, ds_id, rows)
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    assert d.status == "applied", d.error
    after = {key: fields["body"] for key, _, _, fields in stored(pg_store, ctx, set_id)}
    assert after["s06"] == after["s09"] == "cat0 from $16"  # their own rows did not change
    fresh = campaigns.create(pg_store, ctx, "Fresh", ds_id, config, follow_mode="off")
    generated(pg_store, env, ctx, fresh)
    assert stored(pg_store, ctx, set_id) == stored(pg_store, ctx, fresh)
