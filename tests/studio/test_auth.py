"""Accounts: sign-up rules, atomic lockout, one message for every refusal, the users table guarded on
Postgres, server-side sessions, and password change and reset that sign every other browser out."""

from __future__ import annotations

import datetime as dt
import socketserver
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import ProgrammingError

from studio import auth, invitations, passwords, tenancy
from studio.context import Context, Role
from studio.errors import AuthError, StudioError, ValidationFailed
from studio.store.models import AuditEvent, User
from studio.store.session import Store


def _email() -> str:
    return f"a{uuid.uuid4().hex[:8]}@example.com"


class _Owner:
    """The schema owner's view of `users` (on Postgres the app role cannot see lockout columns)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def run(self, stmt):
        engine = create_engine(self.store.settings.migration_database_url) if self.store.is_postgres else self.store.engine
        try:
            with engine.begin() as c:
                result = c.execute(stmt)
                return result.all() if stmt.is_select else None
        finally:
            if engine is not self.store.engine:
                engine.dispose()

    def lock_state(self, email: str) -> tuple[int, dt.datetime | None]:
        return tuple(self.run(select(User.failed_attempts, User.locked_until).where(User.email == email))[0])

    def unlock_now(self, email: str) -> None:
        self.run(update(User).where(User.email == email)
                 .values(locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))


@pytest.mark.parametrize(("email", "name", "password", "message"), [
    ("not-an-email", "Ann", "longenough", "valid email"),
    ("ann@example.com", " ", "longenough", "Enter your name"),
    ("ann@example.com", "Ann", "short", "at least 8"),
    ("ann@example.com", "Ann", "x" * 80, "at most 72"),
    ("ann\x00@example.com", "Ann", "longenough", "control character \\(NUL\\)"),
    ("ann@example.com", "An\x00n", "longenough", "name contains an invisible control character"),
    ("ann@example.com", "Ann", "long\x00enough", "NUL"),
])
def test_sign_up_rejects_bad_input(store, email, name, password, message):
    with pytest.raises(ValidationFailed, match=message):
        auth.sign_up(store, email, name, password)


def test_sign_up_makes_an_owned_workspace_and_refuses_duplicates(store):
    email = _email()
    account, ws = auth.sign_up(store, email.upper(), "Ann Lee", "longenough")
    assert account.email == email
    assert [(m.workspace_id, m.workspace_name, m.role.value) for m in tenancy.memberships(store, account.id)] == [(ws, "Ann's workspace", "owner")]
    with pytest.raises(ValidationFailed, match="already exists"):
        auth.sign_up(store, email, "Ann", "longenough")


def test_concurrent_sign_ups_of_one_email_make_one_account_and_messages(store):
    email = _email()

    def attempt(_: int) -> str:
        try:
            auth.sign_up(store, email, "Ann", "longenough")
            return "created"
        except StudioError as exc:
            return str(exc)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count("created") == 1
    assert set(results) - {"created"} == {"An account with this email already exists. Sign in instead."}


def test_password_is_stored_as_bcrypt_hash(sqlite_store):
    account, _ = auth.sign_up(sqlite_store, _email(), "Ann", "longenough")
    with sqlite_store.account_scope() as s:
        stored = s.get(User, account.id).password_hash
    assert stored.startswith("$2a$") and "longenough" not in stored


def test_five_failures_lock_for_fifteen_minutes_then_unlock(store):
    email = _email()
    auth.sign_up(store, email, "Ann", "longenough")
    owner = _Owner(store)
    for n in range(1, 6):
        with pytest.raises(AuthError, match="incorrect"):
            auth.authenticate(store, email, "nope-nope")
        assert owner.lock_state(email)[0] == n
    attempts, until = owner.lock_state(email)
    assert until is not None and dt.timedelta(minutes=14) < until.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=15)
    with pytest.raises(AuthError, match="incorrect"):
        auth.authenticate(store, email, "longenough")  # the right password, but locked
    owner.unlock_now(email)
    assert auth.authenticate(store, email, "longenough").email == email
    assert owner.lock_state(email) == (0, None)


def test_locked_unknown_and_wrong_password_read_the_same(store):
    email = _email()
    auth.sign_up(store, email, "Ann", "longenough")
    messages = set()
    for _ in range(5):
        with pytest.raises(AuthError) as wrong:
            auth.authenticate(store, email, "nope-nope")
        messages.add(str(wrong.value))
    for who, password in ((email, "longenough"), ("nobody@example.com", "whatever1"), (email, "nope-nope")):
        with pytest.raises(AuthError) as refused:
            auth.authenticate(store, who, password)
        messages.add(str(refused.value))
    assert messages == {auth.sign_in_refused(store.settings)}
    assert "Forgot password" in auth.sign_in_refused(store.settings)


def test_fifty_parallel_wrong_passwords_count_exactly_five(store):
    """The attack of issue #15: 20 parallel guesses used to leave the account open after 40 tries."""
    email = _email()
    account, ws = auth.sign_up(store, email, "Ann", "longenough")

    def guess(i: int) -> str:
        try:
            auth.authenticate(store, email, f"guess-{i:04d}")
            return "in"
        except AuthError:
            return "refused"

    with ThreadPoolExecutor(50) as pool:
        assert set(pool.map(guess, range(50))) == {"refused"}
    attempts, until = _Owner(store).lock_state(email)
    assert attempts == 5 and until is not None
    with store.session_scope(Context.job(ws)) as s:
        counted = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed"))
    assert counted == 5  # exactly five passwords were checked and counted; the rest met the lock
    with pytest.raises(AuthError):
        auth.authenticate(store, email, "longenough")


def test_app_role_cannot_read_or_set_password_hashes(pg_store):
    a, _ = auth.sign_up(pg_store, _email(), "Ann", "longenough")
    b, _ = auth.sign_up(pg_store, _email(), "Bob", "longenough")
    for stmt in ("select password_hash from users", "select failed_attempts, locked_until from users"):
        with pytest.raises(ProgrammingError, match="permission denied"), pg_store.account_scope(a.id) as s:
            s.execute(text(stmt)).all()
    with pytest.raises(ProgrammingError, match="permission denied"), pg_store.account_scope(a.id) as s:
        s.execute(text("update users set password_hash = 'x' where id = :b"), {"b": b.id})
    with pytest.raises(ProgrammingError, match="permission denied"), pg_store.account_scope(a.id) as s:
        s.execute(text("insert into users (id, email, name, password_hash, failed_attempts) "
                       "values (gen_random_uuid(), 'x@example.com', 'x', 'x', 0)"))
    with pg_store.account_scope() as s:
        assert s.scalar(text("select count(*) from users")) == 0  # nobody signed in: no one is visible
    with pg_store.account_scope(a.id) as s:
        assert s.execute(text("select email from users")).scalars().all() == [a.email]  # only oneself
        s.execute(text("update users set name = 'Bobby' where id = :b"), {"b": b.id})  # RLS: no row of another
    assert auth.account_of(pg_store, b.id).name == "Bob"
    assert auth.authenticate(pg_store, b.email, "longenough").id == b.id


def test_members_see_each_others_names_not_strangers(pg_store):
    owner, ws = auth.sign_up(pg_store, _email(), "Ann", "longenough")
    mate, _ = auth.sign_up(pg_store, _email(), "Bob", "longenough")
    stranger, _ = auth.sign_up(pg_store, _email(), "Cy", "longenough")
    octx = Context(user_id=owner.id, workspace_id=ws)
    invitations.accept(pg_store, invitations.invite(pg_store, octx, mate.email, Role.MEMBER).url.split("invite=")[1], mate)
    with pg_store.session_scope(octx) as s:
        emails = set(s.execute(text("select email from users")).scalars())
    assert emails == {owner.email, mate.email} and stranger.email not in emails


def test_sign_out_revokes_the_cookie_server_side(store):
    email = _email()
    account, _ = auth.sign_up(store, email, "Ann", "longenough")
    token = f"jwt-{uuid.uuid4()}"
    auth.open_session(store, account, token, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert auth.resume_session(store, token) == account
    auth.close_session(store, token, account)
    assert auth.resume_session(store, token) is None  # a replayed cookie no longer signs in
    assert not auth.session_active(store, token)


def test_expired_session_does_not_resume(sqlite_store):
    account, _ = auth.sign_up(sqlite_store, _email(), "Ann", "longenough")
    auth.open_session(sqlite_store, account, "old-token", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert auth.resume_session(sqlite_store, "old-token") is None


def _sessions(store: Store, account: auth.Account, n: int) -> list[str]:
    tokens = [f"jwt-{uuid.uuid4()}" for _ in range(n)]
    for t in tokens:
        auth.open_session(store, account, t, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    return tokens


def test_password_change_needs_the_current_one_and_signs_out_every_other_browser(store):
    email = _email()
    account, _ = auth.sign_up(store, email, "Ann", "longenough")
    here, other, third = _sessions(store, account, 3)
    for wrong in ("wrong-one", "long\x00enough"):
        with pytest.raises(AuthError, match="current password is not right"):
            passwords.change_password(store, account.id, wrong, "brand-new-pw", keep_token=here)
    assert auth.session_active(store, other)  # a refused change ends nothing
    with pytest.raises(ValidationFailed, match="at least 8"):
        passwords.change_password(store, account.id, "longenough", "short", keep_token=here)
    assert passwords.change_password(store, account.id, "longenough", "brand-new-pw", keep_token=here) == 2
    assert auth.session_active(store, here) and not auth.session_active(store, other)
    assert not auth.session_active(store, third)
    with pytest.raises(AuthError):
        auth.authenticate(store, email, "longenough")
    assert auth.authenticate(store, email, "brand-new-pw").id == account.id


def test_wrong_current_passwords_count_towards_the_lock(store):
    email = _email()
    account, _ = auth.sign_up(store, email, "Ann", "longenough")
    for _ in range(5):
        with pytest.raises(AuthError):
            passwords.change_password(store, account.id, "wrong-one", "brand-new-pw")
    with pytest.raises(AuthError, match="Too many wrong passwords"):
        passwords.change_password(store, account.id, "longenough", "brand-new-pw")
    assert _Owner(store).lock_state(email)[0] == 5


def _token(link: str) -> str:
    return link.split("reset=", 1)[1]


def test_reset_link_works_once_and_signs_out_everywhere(store):
    email = _email()
    account, _ = auth.sign_up(store, email, "Ann", "longenough")
    tokens = _sessions(store, account, 2)
    for _ in range(5):  # a locked account can still be reset
        with pytest.raises(AuthError):
            auth.authenticate(store, email, "nope-nope")
    link = passwords.reset_link(store, email)
    assert link is not None and link.startswith(store.settings.public_url.rstrip("/") + "/?reset=")
    assert passwords.reset_account(store, _token(link)) == account
    assert passwords.reset_password(store, _token(link), "after-reset-1") == account
    assert not any(auth.session_active(store, t) for t in tokens)
    assert auth.authenticate(store, email, "after-reset-1").id == account.id  # and the lock is lifted
    with pytest.raises(ValidationFailed, match="expired or was already used"):
        passwords.reset_password(store, _token(link), "after-reset-2")
    with pytest.raises(ValidationFailed, match="expired or was already used"):
        passwords.reset_account(store, _token(link))


@pytest.mark.parametrize("spoil", ["expired", "older", "forged", "garbage"])
def test_reset_links_that_must_not_work(sqlite_store, monkeypatch, spoil):
    email = _email()
    account, _ = auth.sign_up(sqlite_store, email, "Ann", "longenough")
    if spoil == "expired":
        monkeypatch.setattr(passwords, "RESET_VALID", dt.timedelta(seconds=-5))
        token = _token(passwords.reset_link(sqlite_store, email))
    elif spoil == "older":
        token = _token(passwords.reset_link(sqlite_store, email))
        passwords.change_password(sqlite_store, account.id, "longenough", "changed-since")
    elif spoil == "forged":
        import jwt

        token = jwt.encode({"sub": str(account.id), "gen": 0, "purpose": "password-reset",
                            "exp": int(dt.datetime.now(dt.UTC).timestamp()) + 600}, "a-guessed-key-that-is-long-enough-for-hs256", algorithm="HS256")
    else:
        token = "not.a.token"
    with pytest.raises(ValidationFailed, match="expired or was already used"):
        passwords.reset_password(sqlite_store, token, "would-be-new")
    assert passwords.reset_link(sqlite_store, "nobody@example.com") is None


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message (smtplib's client, a real socket)."""

    def handle(self) -> None:
        self.wfile.write(b"220 test\r\n")
        while line := self.rfile.readline():
            cmd = line.strip().upper()
            if cmd == b"DATA":
                self.wfile.write(b"354 go\r\n")
                body = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk
                self.server.messages.append(message_from_bytes(body, policy=policy.default))  # type: ignore[attr-defined]
                self.wfile.write(b"250 ok\r\n")
            elif cmd == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture()
def smtp() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_forgot_password_mails_a_link_and_says_the_same_for_strangers(sqlite_store, smtp, monkeypatch):
    port = smtp.server_address[1]
    monkeypatch.setitem(sqlite_store.settings.extra, "SMTP_URL", f"smtp://127.0.0.1:{port}")
    email = _email()
    account, _ = auth.sign_up(sqlite_store, email, "Ann", "longenough")
    said = passwords.request_reset(sqlite_store, email)
    stranger = passwords.request_reset(sqlite_store, "nobody@example.com")
    assert said.replace(email, "X") == stranger.replace("nobody@example.com", "X")
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == email
    body = smtp.messages[0].get_content()
    link = next(word for word in body.split() if "?reset=" in word)
    assert passwords.reset_password(sqlite_store, _token(link), "mailed-reset") == account


def test_without_smtp_the_operator_prints_a_link(sqlite_store, monkeypatch, capsys):
    email = _email()
    auth.sign_up(sqlite_store, email, "Ann", "longenough")
    assert "python -m studio.passwords reset-link" in passwords.request_reset(sqlite_store, email)
    monkeypatch.setattr(passwords, "load_settings", lambda: sqlite_store.settings)
    assert passwords.main(["reset-link", email]) == 0
    link = capsys.readouterr().out.strip().splitlines()[-1]
    assert passwords.reset_password(sqlite_store, _token(link), "printed-reset").email == email
    assert passwords.main(["reset-link", "nobody@example.com"]) == 1


def test_a_hash_in_bcrypts_2b_form_still_signs_in(store):
    """Hashes written before migration 0009 (`$2b$`) are read the same by the database's bcrypt."""
    import bcrypt

    email = _email()
    auth.sign_up(store, email, "Ann", "longenough")
    old_style = bcrypt.hashpw(b"longenough", bcrypt.gensalt(rounds=4)).decode()
    assert old_style.startswith("$2b$")
    _Owner(store).run(update(User).where(User.email == email).values(password_hash=old_style))
    assert auth.authenticate(store, email, "longenough").email == email
    with pytest.raises(AuthError):
        auth.authenticate(store, email, "longenough!")
