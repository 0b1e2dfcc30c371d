"""A node whose database cannot be reached says so with 503 (load balancers and clients try
again) rather than an internal error."""
from __future__ import annotations

from kb import create_app


def test_a_node_whose_database_is_down_answers_503(tmp_path):
    """PostgreSQL down (nothing listens on its port): pages and the API say "try again"
    with 503, in the contract's JSON on the API, instead of an internal error."""
    from tests.processes import free_port

    node = create_app(config={
        "TESTING": True, "SERVER_NAME": None, "SECRET_KEY": "one key",
        "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://kb@127.0.0.1:{free_port()}/kb",
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}},
        instance_path=str(tmp_path / "node"))
    client = node.test_client()
    for path in ("/", "/search?q=budget", "/resources/1"):
        page = client.get(path)
        assert page.status_code == 503, (path, page.status_code)
        assert page.headers["Retry-After"] == "30"
        assert "try again" in page.get_data(as_text=True)
    answer = client.get("/api/v1/search?q=budget")
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "unavailable"
    client.set_cookie("kb_lang", "km")
    khmer = client.get("/")
    assert khmer.status_code == 503 and "មូលដ្ឋានទិន្នន័យ" in khmer.get_data(as_text=True)
