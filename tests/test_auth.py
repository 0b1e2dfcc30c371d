"""Signing in and out, joining, one's account: through the real pages."""
import re

import pytest

from kb import create_app
from kb.extensions import db
from kb.models import AccountStatus, AuditEvent, User
from kb.services import accounts
from tests.conftest import CSRF_RE, PASSWORD, csrf_token, sign_in


@pytest.mark.parametrize("role", ["member", "contributor", "editor", "admin"])
def test_every_role_signs_in_and_out(client, make_user, role):
    user = make_user(role)
    response = sign_in(client, user.email, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Welcome, {user.name}." in page
    assert ("Administration" in page) == (role == "admin")
    assert client.get("/account").status_code == 200
    client.post("/signout", data={"csrf_token": csrf_token(client, "/account")})
    assert client.get("/account").status_code == 302  # back to the sign-in page


def test_unknown_email_and_wrong_password_get_the_same_answer(client, make_user):
    user = make_user("member")
    wrong = sign_in(client, user.email, "not the password at all")
    unknown = sign_in(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    def page_without_email_and_token(response, email):
        return CSRF_RE.sub("", response.get_data(as_text=True).replace(email, ""))

    assert page_without_email_and_token(wrong, user.email) == \
        page_without_email_and_token(unknown, "nobody@example.org")
    assert "The e-mail address or password is not correct." in wrong.get_data(as_text=True)


def test_password_is_hashed_with_argon2(make_user):
    user = make_user("member")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_form_without_csrf_token_is_refused(client, make_user):
    user = make_user("member")
    response = client.post("/signin", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "The form had expired" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize("path,data", [
    ("/join", {"email": "a@example.org", "name": "A", "password": "long enough password"}),
    ("/account", {"action": "profile", "name": "X"}),
    ("/signout", {}),
])
def test_every_form_needs_its_csrf_token(client, make_user, path, data):
    sign_in(client, make_user("admin").email)
    assert client.post(path, data=data).status_code == 400


def test_session_is_renewed_at_sign_in(client, make_user):
    user = make_user("member")
    with client.session_transaction() as planted:
        planted["planted"] = "by an attacker"
    sign_in(client, user.email)
    with client.session_transaction() as current:
        assert "planted" not in current
        assert current["_user_id"] == f"{user.id}:{user.session_version}"


def test_session_cookie_flags(client, make_user):
    response = sign_in(client, make_user("member").email)
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def _limited_app(instance, **limits):
    app = create_app(config={"TESTING": True, **limits}, instance_path=str(instance))
    with app.app_context():
        from kb.services import accounts
        for email in ("r@example.org", "s@example.org"):
            accounts.create_user(email, "R", "member", password=PASSWORD)
    return app


def _from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_sign_in_slows_down_per_address_and_email(instance):
    app = _limited_app(instance, SIGNIN_RATE_LIMIT="3 per minute")
    client = _from(app, "10.0.0.1")
    codes = [sign_in(client, "r@example.org", "wrong password here").status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    refused = sign_in(client, "r@example.org")  # even the right password waits now
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 60
    page = refused.get_data(as_text=True)
    said = re.search(r"Too many attempts\. Please wait (\d+) seconds and try again\.", page)
    assert said and abs(int(said.group(1)) - wait) <= 1
    assert 'id="email"' in page  # the form, not an error page
    # Nobody else is locked out: the same person from another address, another person here.
    assert sign_in(_from(app, "10.0.0.2"), "r@example.org").status_code == 302
    assert sign_in(client, "s@example.org").status_code == 302


def test_a_training_room_behind_one_address_is_not_locked_out(instance):
    app = _limited_app(instance, SIGNIN_RATE_LIMIT="2 per minute",
                       SIGNIN_ADDRESS_RATE_LIMIT="6 per minute")
    room = _from(app, "10.0.0.9")
    # Four people mistype once each: the room's shared address is still let in.
    for number in range(4):
        assert sign_in(room, f"person{number}@example.org", "mistyped password").status_code == 401
    assert sign_in(room, "r@example.org").status_code == 302  # successes never count
    room = _from(app, "10.0.0.9")
    for _ in range(2):
        assert sign_in(room, "s@example.org", "mistyped password").status_code == 401
    # Only now, after six refusals from one address, does the address itself wait.
    assert sign_in(room, "s@example.org").status_code == 429
    assert sign_in(_from(app, "10.0.0.10"), "s@example.org").status_code == 302


def test_a_pending_request_is_named_only_to_whoever_has_its_password(client):
    from kb.services import accounts

    accounts.request_to_join("waiting@example.org", "Waiting Person", "long enough password")
    right = sign_in(client, "waiting@example.org", "long enough password")
    assert right.status_code == 403
    assert "waiting for an administrator" in right.get_data(as_text=True)
    wrong = sign_in(client, "waiting@example.org", "not the password at all")
    unknown = sign_in(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        page = response.get_data(as_text=True)
        assert "The e-mail address or password is not correct." in page
        assert "waiting for" not in page and "approval" not in page
    with client.session_transaction() as current:
        assert "_user_id" not in current


def test_join_request_waits_for_an_admin_who_approves_with_a_role(client, make_user):
    token = csrf_token(client, "/join")
    response = client.post("/join", data={
        "email": "new@example.org", "name": "New Person", "password": "long enough password",
        "org": "CARD", "message": "I work on commune planning", "csrf_token": token})
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    assert sign_in(client, "new@example.org", "long enough password").status_code == 403

    admin = make_user("admin")
    sign_in(client, admin.email)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "New Person" in page and "I work on commune planning" in page
    person = db.session.scalar(db.select(User).where(User.email == "new@example.org"))
    assert person.status == AccountStatus.PENDING and person.organisation.short_name == "CARD"
    client.post(f"/admin/users/{person.id}", data={
        "action": "approve", "role": "contributor", "csrf_token": csrf_token(client, "/admin/users")})
    db.session.refresh(person)
    assert person.status == AccountStatus.ACTIVE and person.role.value == "contributor"
    assert db.session.scalar(db.select(AuditEvent).where(
        AuditEvent.action == "user.approve", AuditEvent.target_id == str(person.id))) is not None

    other = client.application.test_client()
    assert sign_in(other, "new@example.org", "long enough password").status_code == 302


def test_join_does_not_reveal_known_addresses(client, make_user):
    user = make_user("member")
    token = csrf_token(client, "/join")
    known = client.post("/join", data={"email": user.email, "name": "Someone",
                                       "password": "long enough password", "csrf_token": token})
    fresh = client.post("/join", data={"email": "fresh@example.org", "name": "Someone",
                                       "password": "long enough password", "csrf_token": token})
    assert known.status_code == fresh.status_code == 200
    assert CSRF_RE.sub("", known.get_data(as_text=True)) == \
        CSRF_RE.sub("", fresh.get_data(as_text=True))


def test_join_shows_field_errors(client):
    token = csrf_token(client, "/join")
    response = client.post("/join", data={"email": "not-an-address", "name": "X",
                                          "password": "long enough password", "csrf_token": token})
    assert response.status_code == 400
    assert "Enter a valid e-mail address." in response.get_data(as_text=True)


def test_deactivated_user_is_signed_out_everywhere(client, make_user):
    user, admin = make_user("member"), make_user("admin")
    sign_in(client, user.email)
    assert client.get("/account").status_code == 200
    from kb.services import accounts
    accounts.deactivate_user(admin, user)
    assert client.get("/account").status_code == 302
    assert sign_in(client.application.test_client(), user.email).status_code == 401


def test_password_change_keeps_this_session_and_ends_others(app, make_user):
    user = make_user("member")
    mine, elsewhere = app.test_client(), app.test_client()
    sign_in(mine, user.email)
    sign_in(elsewhere, user.email)
    response = mine.post("/account", data={"action": "password", "current": PASSWORD,
                                           "new": "a brand new password",
                                           "csrf_token": csrf_token(mine, "/account")})
    assert response.status_code == 302
    assert mine.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302
    wrong = mine.post("/account", data={"action": "password", "current": "wrong one",
                                        "new": "another new password",
                                        "csrf_token": csrf_token(mine, "/account")})
    assert wrong.status_code == 400
    assert "The current password is not correct." in wrong.get_data(as_text=True)


def test_sign_in_redirects_only_within_the_site(client, make_user):
    user = make_user("member")
    token = csrf_token(client)
    for target, expected in [("/organisations", "/organisations"),
                             ("https://evil.example/", "/"), ("//evil.example/", "/")]:
        client.post("/signout", data={"csrf_token": token})
        token = csrf_token(client)
        response = client.post("/signin", data={"email": user.email, "password": PASSWORD,
                                                "next": target, "csrf_token": token})
        assert response.headers["Location"] == expected
        token = csrf_token(client, "/account")


def test_account_tokens_are_shown_once_and_revocable(client, make_user):
    user = make_user("contributor")
    sign_in(client, user.email)
    page = client.post("/account", data={"action": "token", "label": "my script",
                                         "csrf_token": csrf_token(client, "/account")})
    import re
    token = re.search(r'<code class="token">(kb_[^<]+)</code>', page.get_data(as_text=True))[1]
    api = client.application.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in client.get("/account").get_data(as_text=True)
    token_id = user.tokens[0].id
    client.post("/account", data={"action": "revoke", "token_id": token_id,
                                  "csrf_token": csrf_token(client, "/account")})
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def _copy_cookies(source, target, names=("kb_session", "remember_token")):
    """What someone who copied the browser's cookies would hold."""
    for name in names:
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value, domain=cookie.domain)


def _remember_only(app, source):
    """A browser restarted after "keep me signed in": the remember-me cookie alone."""
    restarted = app.test_client()
    _copy_cookies(source, restarted, names=("remember_token",))
    return restarted


def test_sign_out_ends_copied_session_and_remember_me_cookies(app, client, make_user):
    user = make_user("member")
    token = csrf_token(client)
    client.post("/signin", data={"email": user.email, "password": PASSWORD, "remember": "on",
                                 "csrf_token": token})
    assert client.get_cookie("remember_token") is not None
    thief = app.test_client()
    _copy_cookies(client, thief)
    restarted = _remember_only(app, client)
    assert thief.get("/account").status_code == 200
    assert restarted.get("/account").status_code == 200
    client.post("/signout", data={"csrf_token": csrf_token(client, "/account")})
    assert client.get("/account").status_code == 302
    assert thief.get("/account").status_code == 302
    assert _remember_only(app, thief).get("/account").status_code == 302
    # Signing in again works, with a new session.
    assert sign_in(client, user.email).status_code == 302
    assert client.get("/account").status_code == 200


def test_deactivation_and_password_change_end_remember_me_cookies(app, client, make_user):
    admin, user = make_user("admin"), make_user("member")
    for action in ("password", "deactivate"):
        browser = app.test_client()
        browser.post("/signin", data={"email": user.email, "password": PASSWORD,
                                      "remember": "on", "csrf_token": csrf_token(browser)})
        remembered = _remember_only(app, browser)
        assert remembered.get("/account").status_code == 200
        if action == "password":
            accounts.set_password(user, PASSWORD, actor=admin)  # same password, new version
        else:
            accounts.deactivate_user(admin, user)
        assert _remember_only(app, browser).get("/account").status_code == 302, action
        assert browser.get("/account").status_code == 302, action
