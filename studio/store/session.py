"""The store: one engine per process, and units of work that set the tenant on every transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import TextClause

from studio.context import Context, Permission, Role, allows, capped
from studio.errors import NoWorkspace, PermissionDenied
from studio.settings import Settings
from studio.store import integrity, rerun
from studio.store.base import TenantMixin
from studio.store.models import WorkspaceMember


class TenantSession(Session):
    """A session bound to at most one workspace; tenant rows of others are filtered out and refused."""

    @property
    def workspace_id(self) -> uuid.UUID:
        ws = self.info.get("workspace_id")
        if ws is None:
            raise NoWorkspace("This action needs a workspace, and none is selected.")
        return ws

    @property
    def role(self) -> Role | None:
        return self.info.get("role")

    def require(self, permission: Permission) -> None:
        """Raise PermissionDenied unless the acting member's current role allows `permission`."""
        if self.info.get("system"):
            return
        if not allows(self.role, permission):
            role = self.role.value if self.role else "no role"
            raise PermissionDenied(f"Your role ({role}) does not allow you to {permission.value} in this workspace.")


@event.listens_for(TenantSession, "do_orm_execute")
def _filter_tenant(state: ORMExecuteState) -> None:
    ws = state.session.info.get("workspace_id")
    if ws is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(TenantMixin, lambda cls: cls.workspace_id == ws, include_aliases=True)
        )


@event.listens_for(TenantSession, "do_orm_execute")
def _note_write(state: ORMExecuteState) -> None:
    if state.is_select or (isinstance(state.statement, TextClause) and state.statement.text.lstrip().lower().startswith("select")):
        return
    state.session.info["wrote"] = True


@event.listens_for(TenantSession, "after_flush")
def _note_flush(session: Session, _ctx: Any) -> None:
    session.info["wrote"] = True


@event.listens_for(TenantSession, "before_flush")
def _stamp_tenant(session: Session, _ctx: Any, _instances: Any) -> None:
    ws = session.info.get("workspace_id")
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantMixin):
            continue
        if obj.workspace_id is None and ws is not None and obj in session.new:
            obj.workspace_id = ws
        if ws is None or obj.workspace_id != ws:
            raise PermissionDenied("Refused to write a row of another workspace.")


class Store:
    """Owns the engine; hands out tenant-scoped units of work. Build one per process."""

    def __init__(self, settings: Settings, *, url: str | None = None, **engine_kw: Any) -> None:
        self.settings = settings
        self.url = url or settings.database_url
        self.is_postgres = self.url.startswith("postgresql")
        self.engine: Engine = _make_engine(self.url, **engine_kw)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session_scope(self, ctx: Context) -> Iterator[TenantSession]:
        """One transaction for one user action or one job, in ctx's workspace; commits on success."""
        if ctx.workspace_id is None:
            raise NoWorkspace("This action needs a workspace, and none is selected.")
        ws = ctx.workspace_id
        info = {"workspace_id": ws, "user_id": ctx.user_id, "system": ctx.system, "ctx": ctx, "store": self}
        with self._unit_of_work(info) as s:
            if not ctx.system:
                role = rerun.role(ws, ctx.user_id)  # read once per page rerun (studio/store/rerun.py)
                if role is None:
                    role = s.scalar(
                        select(WorkspaceMember.role).where(
                            WorkspaceMember.workspace_id == ws, WorkspaceMember.user_id == ctx.user_id
                        )
                    )
                if role is None:
                    raise PermissionDenied("You are not a member of this workspace (any more).")
                rerun.remember_role(ws, ctx.user_id, Role(role))
                s.info["role"] = capped(Role(role), ctx.role_cap)
            yield s

    @contextmanager
    def _unit_of_work(self, info: dict[str, Any]) -> Iterator[TenantSession]:
        """Begin, set the tenant, commit; run the session's rollback / after-commit hooks (files)."""
        s = TenantSession(self.engine, info=info, expire_on_commit=False)
        try:
            with s.begin():
                self._set_tenant(s, info["workspace_id"], info["user_id"])
                yield s
        except BaseException as exc:
            for hook in s.info.get("on_rollback", []):
                hook()
            message = integrity.as_message(exc)  # a racing click or a NUL byte: a message, not a DB error
            if message is not None:
                raise message from exc
            raise
        else:
            if s.info.get("wrote"):
                rerun.forget()  # reads remembered for this rerun (roles too) are read again after a write
            for hook in s.info.get("after_commit", []):
                hook()
        finally:
            s.close()

    @contextmanager
    def account_scope(self, user_id: uuid.UUID | None = None) -> Iterator[TenantSession]:
        """A transaction outside any workspace: accounts, sign-in, the user's own memberships."""
        info = {"workspace_id": None, "user_id": user_id, "system": False}
        with self._unit_of_work(info) as s:
            yield s

    def _set_tenant(self, s: Session, ws: uuid.UUID | None, user_id: uuid.UUID | None) -> None:
        if not self.is_postgres:
            return
        s.execute(
            text("select set_config('app.workspace_id', :w, true), set_config('app.user_id', :u, true)"),
            {"w": str(ws) if ws else "", "u": str(user_id) if user_id else ""},
        )


def _make_engine(url: str, **kw: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    kw.setdefault("pool_pre_ping", True)
    return create_engine(url, **kw)
