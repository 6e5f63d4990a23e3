"""variations write path (issue 18): keep only the constraints that protect something

A generation chunk writes ~25k variations in one INSERT; every foreign key is a per-row trigger that
looks up (and KEY SHARE-locks) the parent row, every index one more B-tree insert. Measured on one warm
50k-row chunk: the INSERT into a bare table 0.07 s, + primary key 0.18 s, + the 3 other indexes 0.36 s,
+ the 3 foreign keys 0.98 s. Decided per constraint:

- fk_variations_workspace_id_workspaces (dropped). The value is guaranteed on the way in: row-level
  security (kept) checks every written row WITH CHECK workspace_id = the session's workspace, and a
  tenant session only exists for a workspace it has just read. The cascade it gave is already given
  by the set: deleting a workspace cascades to its campaign_sets, which cascade to their variations.
- ix_variations_workspace_id (dropped). No query reads variations by workspace alone: every read is by
  set (ix_variation_set_row, ix_variation_set_status) or by id (the primary key), and RLS filters the
  rows those find. Deleting a workspace no longer needs it (no foreign key to check against it).
- fk_variations_run_id_generation_runs (dropped). run_id is provenance only (which run last wrote the
  row); nothing joins or filters on it. It is written by the chunk's own transaction, which holds the
  chunk's row lock and reads its run (status not cancelled/error) before writing, so the run exists.
  Runs are deleted only with their set, whose cascade deletes the variations too, so the old
  ON DELETE SET NULL never had anything to do. It was also the lock that made two workers' chunks
  queue on the run row (KEY SHARE vs the counters' update).
- fk_variations_campaign_set_id_campaign_sets (kept). Its ON DELETE CASCADE is what removes a set's
  variations when the set is deleted, and it makes a chunk that races a set's deletion fail instead of
  leaving orphans: that is protection the chunk's transaction alone cannot give without locking the set
  row for the whole write. One lookup per row of the same parent is its cost (cached page).
- pk_variations, ix_variation_set_row (kept): idempotent re-runs (the id is derived from set, row
  and variation), the page's sort and chunk range deletes.
- ix_variation_set_status (kept, now (campaign_set_id, status, workspace_id)): the status filter, and
  the page's count. With workspace_id in it, the RLS predicate is answered from the index, so the
  count of a 1M-variation set is an index-only scan (measured: 114 ms, against 440 ms for the heap
  scan it needed without; the old single-column tenant index did not help it).

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("variations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_variations_workspace_id_workspaces", type_="foreignkey")
        batch_op.drop_constraint("fk_variations_run_id_generation_runs", type_="foreignkey")
        batch_op.drop_index("ix_variations_workspace_id")
        batch_op.drop_index("ix_variation_set_status")
        batch_op.create_index("ix_variation_set_status", ["campaign_set_id", "status", "workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("variations", schema=None) as batch_op:
        batch_op.drop_index("ix_variation_set_status")
        batch_op.create_index("ix_variation_set_status", ["campaign_set_id", "status"], unique=False)
        batch_op.create_index("ix_variations_workspace_id", ["workspace_id"], unique=False)
        batch_op.create_foreign_key("fk_variations_run_id_generation_runs", "generation_runs", ["run_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_foreign_key("fk_variations_workspace_id_workspaces", "workspaces", ["workspace_id"], ["id"],
                                    ondelete="CASCADE")
