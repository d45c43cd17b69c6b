"""Signing in and out, the session cookie, CSRF and roles, and tenant scoping."""

from ..api.conftest import PASSWORD
from .conftest import Portal, csrf_of, sign_in, window


def test_sign_in_sets_an_httponly_lax_cookie_and_follows_next(portal: Portal) -> None:
    client = portal.client
    response = client.post(
        "/portal/sign-in",
        data={"username": "alice", "password": PASSWORD, "next": "/portal/flows?range=1h"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/flows?range=1h"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie
    secure = client.post(
        "https://testserver/portal/sign-in",
        data={"username": "alice", "password": PASSWORD},
        follow_redirects=False,
    )
    assert "; secure" in secure.headers["set-cookie"].lower()


def test_a_wrong_password_or_a_foreign_next_gets_nowhere(portal: Portal) -> None:
    client = portal.client
    refused = sign_in(client, "alice", "wrong")
    assert refused.status_code == 401
    assert "Invalid username or password" in refused.text
    assert "set-cookie" not in refused.headers
    elsewhere = client.post(
        "/portal/sign-in",
        data={"username": "alice", "password": PASSWORD, "next": "//evil.example/portal/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/portal/"
    cross_site = client.post(
        "/portal/sign-in",
        data={"username": "alice", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert cross_site.status_code == 403
    assert "set-cookie" not in cross_site.headers


def test_pages_need_a_session(portal: Portal) -> None:
    client = portal.client
    client.cookies.clear()
    page = client.get("/portal/findings?status=open", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/portal/sign-in?next=%2Fportal%2Ffindings%3Fstatus%3Dopen"
    panel = client.get("/portal/panels/traffic", headers={"HX-Request": "true"})
    assert panel.status_code == 401
    assert panel.headers["hx-redirect"].startswith("/portal/sign-in?next=")
    client.cookies.set("flowcdr_session", "not-a-token")
    assert client.get("/portal/", follow_redirects=False).status_code == 303


def test_mutations_need_the_csrf_token_the_origin_and_the_admin_role(portal: Portal) -> None:
    client = portal.as_user("alice")
    token = portal.csrf("/portal/settings")
    wanted = {"cidr": "203.0.113.0/24", "reason": "our scanner"}
    missing = client.post("/portal/settings/suppressions", data=wanted, follow_redirects=False)
    assert missing.status_code == 403
    foreign = client.post(
        "/portal/settings/suppressions",
        data={**wanted, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    done = client.post(
        "/portal/settings/suppressions",
        data={**wanted, "csrf_token": token},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "203.0.113.0/24" in client.get("/portal/settings").text
    analyst = portal.as_user("amy")
    page = analyst.get("/portal/settings").text
    assert "our scanner" in page
    assert 'action="/portal/settings/suppressions"' not in page
    own_token = csrf_of(page)  # the sign-out form's
    refused = analyst.post(
        "/portal/settings/suppressions",
        data={**wanted, "csrf_token": own_token},
        follow_redirects=False,
    )
    assert refused.status_code == 403


def test_sign_out_needs_csrf_and_ends_the_session(portal: Portal) -> None:
    client = portal.as_user("alice")
    assert client.post("/portal/sign-out", follow_redirects=False).status_code == 403
    token = portal.csrf("/portal/")
    out = client.post("/portal/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert 'flowcdr_session=""' in out.headers["set-cookie"]
    assert client.get("/portal/", follow_redirects=False).status_code == 303


def test_another_tenant_sees_none_of_it(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    mine = [item.finding.id for item in services.ledger.findings(portal.tenant_id)]
    assert mine
    alice = portal.as_user("alice")
    assert all(finding_id in alice.get("/portal/findings").text for finding_id in mine)
    traffic = alice.get("/portal/panels/traffic", params=window()).text
    bob = portal.as_user("bob")
    listed = bob.get("/portal/findings").text
    assert not any(finding_id in listed for finding_id in mine)
    assert bob.get(f"/portal/findings/{mine[0]}").status_code == 404
    assert bob.get("/portal/panels/traffic", params=window()).text != traffic
