"""Several processes writing at once (server workers, a `kb import`): no lock error reaches
anyone, nothing is lost, and `kb check` finds the index and the database in agreement."""
import os
import subprocess
import sys
import textwrap

from kb import search
from kb.services import indexing
from tests.conftest import run_kb

WRITER = textwrap.dedent("""
    import sys
    from kb import create_app
    from kb.models import Role
    from kb.services import accounts, resources, workflow

    app = create_app()
    with app.app_context():
        editor = accounts.create_user(f"editor{sys.argv[1]}@example.org", "Editor", Role.EDITOR,
                                      password="a long enough password")
        for n in range(int(sys.argv[2])):
            resource = resources.create_resource(editor, {
                "title": f"Writer {sys.argv[1]} budget report {n}", "kind": "reform_document",
                "objectives": ["1"], "language": ["en"]})
            workflow.publish(editor, resource)
    print("done")
""")


def test_concurrent_writers_lose_nothing(app, instance):
    env = {**os.environ, "KB_INSTANCE_PATH": str(instance)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(i), "10"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(3)]
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0 and out.strip() == "done", err
        assert "LockError" not in err and "locked" not in err, err
    assert search.count(app.config["SEARCH_INDEX_PATH"]) == 30
    report = indexing.check()
    assert report.ok, report.lines()
    assert run_kb(instance, "check").exit_code == 0
