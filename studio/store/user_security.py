"""The `users` table on Postgres: what the app role may read and write, and the functions that do the rest.

Migration 0009 explains the choice; in short, password hashes and lockout counters never reach the app
role (no column privilege), passwords are checked inside the database (pgcrypto's bcrypt) by SECURITY
DEFINER functions that also count failures under a row lock, and the rows the app may read are limited
by row-level security to the people it has a reason to show.
"""

from __future__ import annotations

from studio.store.rls import CURRENT_USER_ID, CURRENT_WS

# Columns the app role may read (never password_hash, failed_attempts, locked_until, password_generation).
READABLE = ("id", "email", "name", "created_at", "last_sign_in_at", "is_operator")
UPDATABLE = ("name",)

VISIBLE_USING = (
    f"id = {CURRENT_USER_ID}"
    f" OR id IN (SELECT m.user_id FROM workspace_members m WHERE m.workspace_id = {CURRENT_WS})"
    f" OR id IN (SELECT a.actor_id FROM audit_events a WHERE a.workspace_id = {CURRENT_WS})"
    " OR (SELECT current_setting('app.operator', true)) = 'on'"
)

POLICIES = [
    "ALTER TABLE users ENABLE ROW LEVEL SECURITY",  # not FORCE: the owner's definer functions see every row
    "DROP POLICY IF EXISTS users_read ON users",
    "DROP POLICY IF EXISTS users_update_own ON users",
    f"CREATE POLICY users_read ON users FOR SELECT USING ({VISIBLE_USING})",
    f"CREATE POLICY users_update_own ON users FOR UPDATE USING (id = {CURRENT_USER_ID}) "
    f"WITH CHECK (id = {CURRENT_USER_ID})",
]

DROP_POLICIES = [
    "DROP POLICY IF EXISTS users_read ON users",
    "DROP POLICY IF EXISTS users_update_own ON users",
    "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
]

_DEFINER = "LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp"

FUNCTIONS = [
    # pgcrypto reads bcrypt's `$2a$` prefix only; `$2b$` (Python's default) is the same hash up to 72 bytes.
    """
CREATE OR REPLACE FUNCTION auth_2a(h text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN left(h, 4) = '$2b$' THEN '$2a$' || substr(h, 5) ELSE h END
$$""",
    # Sign-in: the password is compared in the database; concurrent attempts on one account take turns
    # at the row lock, so exactly `p_limit` failures are counted before the lock.
    f"""
CREATE OR REPLACE FUNCTION auth_sign_in(p_email text, p_password text, p_limit int, p_minutes int, p_rounds int)
RETURNS TABLE(account_id uuid, outcome text, attempts int) {_DEFINER} AS $$
DECLARE u users%ROWTYPE; n int;
BEGIN
  SELECT * INTO u FROM users WHERE email = p_email;
  IF NOT FOUND THEN
    PERFORM crypt(p_password, gen_salt('bf', p_rounds));  -- the same cost whether or not the account exists
    RETURN QUERY SELECT NULL::uuid, 'unknown'::text, 0; RETURN;
  END IF;
  SELECT * INTO u FROM users WHERE id = u.id FOR UPDATE;
  IF u.locked_until IS NOT NULL AND u.locked_until > now() THEN
    PERFORM crypt(p_password, gen_salt('bf', p_rounds));
    RETURN QUERY SELECT u.id, 'locked'::text, u.failed_attempts; RETURN;
  END IF;
  IF crypt(p_password, auth_2a(u.password_hash)) = auth_2a(u.password_hash) THEN
    UPDATE users SET failed_attempts = 0, locked_until = NULL, last_sign_in_at = now() WHERE id = u.id;
    RETURN QUERY SELECT u.id, 'ok'::text, 0; RETURN;
  END IF;
  n := CASE WHEN u.locked_until IS NULL THEN u.failed_attempts + 1 ELSE 1 END;  -- an expired lock starts over
  UPDATE users SET failed_attempts = n,
         locked_until = CASE WHEN n >= p_limit THEN now() + make_interval(mins => p_minutes) END
   WHERE id = u.id;
  RETURN QUERY SELECT u.id, CASE WHEN n >= p_limit THEN 'locked_now' ELSE 'wrong' END, n;
END $$""",
    # Sign-up: NULL when the e-mail is taken (two concurrent clicks end in one account and one message).
    f"""
CREATE OR REPLACE FUNCTION auth_sign_up(p_email text, p_name text, p_hash text)
RETURNS uuid {_DEFINER} AS $$
DECLARE new_id uuid;
BEGIN
  INSERT INTO users (id, email, name, password_hash, failed_attempts, password_generation, created_at)
  VALUES (gen_random_uuid(), p_email, p_name, p_hash, 0, 0, now())
  ON CONFLICT (email) DO NOTHING RETURNING id INTO new_id;
  RETURN new_id;
END $$""",
    # Password change: the current password is checked (and counted) like a sign-in before the new hash is set.
    f"""
CREATE OR REPLACE FUNCTION auth_change_password(p_user uuid, p_current text, p_hash text, p_limit int,
                                                p_minutes int)
RETURNS text {_DEFINER} AS $$
DECLARE u users%ROWTYPE; n int;
BEGIN
  SELECT * INTO u FROM users WHERE id = p_user FOR UPDATE;
  IF NOT FOUND THEN RETURN 'unknown'; END IF;
  IF u.locked_until IS NOT NULL AND u.locked_until > now() THEN RETURN 'locked'; END IF;
  IF crypt(p_current, auth_2a(u.password_hash)) <> auth_2a(u.password_hash) THEN
    n := CASE WHEN u.locked_until IS NULL THEN u.failed_attempts + 1 ELSE 1 END;
    UPDATE users SET failed_attempts = n,
           locked_until = CASE WHEN n >= p_limit THEN now() + make_interval(mins => p_minutes) END
     WHERE id = u.id;
    RETURN 'wrong';
  END IF;
  UPDATE users SET password_hash = p_hash, password_generation = password_generation + 1, failed_attempts = 0,
         locked_until = NULL WHERE id = u.id;
  RETURN 'ok';
END $$""",
    # Reset links: who to send one to, and the generation a link must carry to be used (once).
    f"""
CREATE OR REPLACE FUNCTION auth_reset_target(p_email text)
RETURNS TABLE(account_id uuid, account_name text, generation int) {_DEFINER} AS $$
BEGIN
  RETURN QUERY SELECT u.id, u.name::text, u.password_generation FROM users u WHERE u.email = p_email;
END $$""",
    f"""
CREATE OR REPLACE FUNCTION auth_password_generation(p_user uuid)
RETURNS int {_DEFINER} AS $$
BEGIN
  RETURN (SELECT password_generation FROM users WHERE id = p_user);
END $$""",
    f"""
CREATE OR REPLACE FUNCTION auth_reset_password(p_user uuid, p_generation int, p_hash text)
RETURNS boolean {_DEFINER} AS $$
BEGIN
  UPDATE users SET password_hash = p_hash, password_generation = password_generation + 1, failed_attempts = 0,
         locked_until = NULL
   WHERE id = p_user AND password_generation = p_generation;
  RETURN FOUND;
END $$""",
]

FUNCTION_SIGNATURES = [
    "auth_2a(text)",
    "auth_sign_in(text, text, int, int, int)",
    "auth_sign_up(text, text, text)",
    "auth_change_password(uuid, text, text, int, int)",
    "auth_reset_target(text)",
    "auth_password_generation(uuid)",
    "auth_reset_password(uuid, int, text)",
]


def app_grants_sql(quoted_role: str, columns: set[str]) -> list[str]:
    """Column privileges of the app role on `users` (migrate.grant_app_role runs this after its table grants).

    Before migration 0009 (no `password_generation`) the table keeps its plain grants."""
    if "password_generation" not in columns:
        return []
    readable = [c for c in READABLE if c in columns]
    return [
        f"REVOKE ALL ON TABLE users FROM {quoted_role}",
        f"GRANT SELECT ({', '.join(readable)}) ON TABLE users TO {quoted_role}",
        f"GRANT UPDATE ({', '.join(UPDATABLE)}) ON TABLE users TO {quoted_role}",
    ]
