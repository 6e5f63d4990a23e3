"""generation throughput (issue 18): the set's foreign key on variations becomes one lock per chunk

Migration 0013 kept fk_variations_campaign_set_id_campaign_sets for its two jobs: its ON DELETE CASCADE
removes a set's variations with the set, and a chunk racing the set's deletion fails instead of leaving
orphans. Its price is a per-row trigger: every inserted variation looks up (and KEY SHARE-locks) the
same campaign_sets row. Measured on one warm 24k-variation chunk into a 500k-row table: the INSERT
took 0.28 s with it and 0.20 s without (the COPY into the temp table 0.08 s either way, the strict
floor's COPY 0.13 s), i.e. the foreign key was ~30 % of Postgres's share of a chunk. With two workers
it also turns the set row's lock into a MultiXact that every row's check then has to read.

Both jobs are now done once per statement / chunk instead of once per row (Postgres only; embedded
SQLite keeps the foreign key, its writes are not the bottleneck there):

- Cascade: an AFTER DELETE ... FOR EACH STATEMENT trigger on campaign_sets deletes the variations of
  the deleted sets (a transition table, one DELETE per statement). A set deleted by a tenant session
  runs it under that tenant's RLS (the variations are the tenant's); a set deleted by the workspace's
  cascade runs it inside the referential action, as the tables' owner without forced RLS, like the
  cascade it replaces.
- Race: the chunk's transaction takes FOR KEY SHARE on its set row before writing
  (workers/generation.py). A set deleted before that lock leaves no row: the chunk stops and writes
  nothing. A deletion that comes later waits for the chunk's commit (DELETE conflicts with KEY SHARE),
  and its trigger's DELETE, a new statement under READ COMMITTED, then sees and removes the chunk's rows.

Revision ID: 0018
Revises: 0017
"""
from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION variations_of_deleted_sets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM variations v USING deleted_sets d WHERE v.campaign_set_id = d.id;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE variations DROP CONSTRAINT IF EXISTS fk_variations_campaign_set_id_campaign_sets")
    op.execute(FUNCTION)
    op.execute("CREATE TRIGGER trg_campaign_sets_delete_variations AFTER DELETE ON campaign_sets "
               "REFERENCING OLD TABLE AS deleted_sets FOR EACH STATEMENT EXECUTE FUNCTION variations_of_deleted_sets()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS trg_campaign_sets_delete_variations ON campaign_sets")
    op.execute("DROP FUNCTION IF EXISTS variations_of_deleted_sets()")
    op.execute("DELETE FROM variations v WHERE NOT EXISTS (SELECT 1 FROM campaign_sets c WHERE c.id = v.campaign_set_id)")
    op.execute("ALTER TABLE variations ADD CONSTRAINT fk_variations_campaign_set_id_campaign_sets FOREIGN KEY "
               "(campaign_set_id) REFERENCES campaign_sets (id) ON DELETE CASCADE")
