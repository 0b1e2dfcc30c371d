"""The suite's own database plumbing: every test runs on the database it was asked to run on
(`--database`), in a database of its own, and the `kb` command and child processes it starts use
that same database."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from kb.extensions import db
from tests.conftest import database_connection, run_kb

KB = Path(sys.executable).with_name("kb")


def test_the_application_runs_on_the_chosen_database(app, database_kind, test_database):
    assert db.engine.dialect.name == database_kind
    if database_kind == "postgresql":
        assert db.engine.url.database == test_database.name
        assert int(db.session.execute(text("SHOW server_version_num")).scalar_one()) >= 150000


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_has_a_database_of_its_own(instance, make_user, attempt):
    """Run twice: the second run would find the first one's account in a shared database."""
    with database_connection(instance) as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
        assert connection.execute(text("SELECT count(*) FROM communes")).scalar_one() == 1661
    make_user("member", email="isolation@example.org")
    listed = run_kb(instance, "users", "list")
    assert listed.exit_code == 0 and "isolation@example.org" in listed.output


def test_a_kb_process_uses_the_tests_database(instance, make_user):
    make_user("editor", email="seen-by-the-child@example.org")
    child = subprocess.run([str(KB), "users", "list"], capture_output=True, text=True,
                           env={**os.environ, "KB_INSTANCE_PATH": str(instance)}, timeout=120)
    assert child.returncode == 0, child.stderr
    assert "seen-by-the-child@example.org" in child.stdout


def test_a_fresh_instance_gets_an_empty_database(tmp_path, empty_database):
    instance = tmp_path / "fresh"
    result = run_kb(instance, "init", "--create-admin", "first@example.org")
    assert result.exit_code == 0, result.output
    with database_connection(instance) as connection:
        emails = connection.execute(text("SELECT email FROM users")).scalars().all()
    assert emails == ["first@example.org"]


@pytest.mark.sqlite_only(reason="shows that the marker keeps a test off PostgreSQL")
def test_a_test_marked_sqlite_only_runs_only_on_sqlite(database_kind):
    assert database_kind == "sqlite"


def test_the_migrations_go_down_and_up_again_and_match_the_models(instance):
    """On each database: every migration can be undone and redone, and together they build
    exactly what the models describe (so no migration only works on SQLite)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    down = run_kb(instance, "db", "downgrade", "base")
    assert down.exit_code == 0, down.output
    with database_connection(instance) as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    up = run_kb(instance, "db", "upgrade")
    assert up.exit_code == 0, up.output
    with database_connection(instance) as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []
        assert connection.execute(text("SELECT count(*) FROM communes")).scalar_one() == 0
