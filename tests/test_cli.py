"""The `kb` command, run for real on an instance folder."""
from sqlalchemy import text

from tests.conftest import database_connection, run_kb


def _count(instance, table):
    with database_connection(instance) as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_init_twice_is_safe_and_loads_the_vocabularies(tmp_path, empty_database):
    instance = tmp_path / "instance"
    first = run_kb(instance, "init")
    assert first.exit_code == 0, first.output
    assert "communes 1661" in first.output
    shared = empty_database.url is not None  # PostgreSQL: the key comes from KB_SECRET_KEY
    key = None if shared else (instance / "secret_key").read_text()
    second = run_kb(instance, "init")
    assert second.exit_code == 0, second.output
    assert "communes 0" in second.output
    if shared:
        assert not (instance / "secret_key").exists()  # never a key of this node's own
    else:
        assert (instance / "secret_key").read_text() == key  # the secret is made once
        assert oct((instance / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert _count(instance, "objectives") == 3
    assert _count(instance, "resource_kinds") == 6
    assert _count(instance, "organisations") == 22
    assert _count(instance, "provinces") == 25
    assert _count(instance, "districts") == 210
    assert _count(instance, "communes") == 1661
    assert (instance / "index").is_dir() and any((instance / "index").iterdir())


def test_init_keeps_an_admins_edits(instance):
    with database_connection(instance) as conn:
        conn.execute(text(
            "UPDATE organisations SET name_en='Cooperation for Women' WHERE short_name='COWS'"))
    assert run_kb(instance, "init").exit_code == 0
    with database_connection(instance) as conn:
        name = conn.execute(text(
            "SELECT name_en FROM organisations WHERE short_name='COWS'")).scalar_one()
    assert name == "Cooperation for Women"


def test_init_creates_the_first_admin_once(instance):
    result = run_kb(instance, "init", "--create-admin", "boss@example.org")
    assert "Created the first administrator: boss@example.org" in result.output
    note = (instance / "first-admin.txt").read_text()
    assert "boss@example.org" in note
    again = run_kb(instance, "init", "--create-admin", "boss@example.org")
    assert "Created" not in again.output
    assert _count(instance, "users") == 1


def test_users_create_for_every_role_with_password_from_stdin(instance):
    for role in ("member", "contributor", "editor", "admin"):
        result = run_kb(instance, "users", "create", f"{role}@example.org", "--name", role,
                        "--role", role, "--org", "CARD", "--password-stdin",
                        input="a long enough secret\n")
        assert result.exit_code == 0, result.output
    with database_connection(instance) as conn:
        rows = dict(conn.execute(text("SELECT email, role FROM users")).all())
    assert rows == {f"{r}@example.org": r for r in ("member", "contributor", "editor", "admin")}


def test_users_create_refuses_bad_input_clearly(instance):
    short = run_kb(instance, "users", "create", "x@example.org", "--name", "X",
                   "--password-stdin", input="short\n")
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    bad_org = run_kb(instance, "users", "create", "y@example.org", "--name", "Y", "--org", "NOPE",
                     "--password-stdin", input="long enough password\n")
    assert bad_org.exit_code != 0 and "Unknown organisation" in bad_org.output
    run_kb(instance, "users", "create", "z@example.org", "--name", "Z", "--password-stdin",
           input="long enough password\n")
    dup = run_kb(instance, "users", "create", "Z@example.org", "--name", "Z", "--password-stdin",
                 input="long enough password\n")
    assert dup.exit_code != 0 and "already exists" in dup.output


def test_tokens_create_prints_only_the_token(instance):
    run_kb(instance, "users", "create", "t@example.org", "--name", "T", "--password-stdin",
           input="long enough password\n")
    result = run_kb(instance, "tokens", "create", "t@example.org")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kb_") and len(lines[0]) > 30
    with database_connection(instance) as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert len(stored) == 1 and lines[0] not in stored  # only a hash is kept
    missing = run_kb(instance, "tokens", "create", "nobody@example.org")
    assert missing.exit_code != 0
