"""The settings page's detection forms: admins switch rules and set tunables, checked and kept
as the API keeps them; analysts see the values without a form."""

from .conftest import Portal, csrf_of

RULE = "vertical_port_scan"
ACTION = f"/portal/settings/rules/{RULE}"


def test_an_admin_saves_a_rules_switch_and_tunables(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    client = portal.as_user("alice")
    token = portal.csrf("/portal/settings")
    form = {"csrf_token": token, "t_min_ports": "30", "t_min_sensitive_ports": "5",
            "t_sensitive_ports": "22, 3389"}  # fmt: skip
    saved = client.post(ACTION, data={**form, "enabled": "on"}, follow_redirects=False)
    assert saved.status_code == 303
    choice = services.tenant_rules.choice(portal.tenant_id, RULE)
    # min_sensitive_ports equals its default: not kept as an override.
    assert (choice.enabled, dict(choice.overrides)) == (
        True,
        {"min_ports": 30, "sensitive_ports": (22, 3389)},
    )
    switched_off = client.post(ACTION, data=form, follow_redirects=False)  # no "enabled"
    assert switched_off.status_code == 303
    assert services.tenant_rules.choice(portal.tenant_id, RULE).enabled is False
    assert RULE not in services.tenant_rules.enabled(portal.tenant_id)
    page = client.get("/portal/settings").text
    assert 'value="22, 3389"' in page
    assert "changed by alice" in page


def test_a_bad_value_is_named_and_the_draft_kept(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    client = portal.as_user("alice")
    token = portal.csrf("/portal/settings")
    for text, message in (("lots", "expected a number"), ("-3", "expected 0 or more")):
        form = {"csrf_token": token, "enabled": "on", "t_min_ports": text,
                "t_min_sensitive_ports": "5", "t_sensitive_ports": "22"}  # fmt: skip
        refused = client.post(ACTION, data=form)
        assert refused.status_code == 422
        assert "tunable &#39;min_ports&#39;" in refused.text
        assert message in refused.text
        assert f'value="{text}"' in refused.text
    assert services.tenant_rules.choice(portal.tenant_id, RULE).updated_by is None


def test_analysts_see_values_without_a_form_and_cannot_post(portal: Portal) -> None:
    analyst = portal.as_user("amy")
    page = analyst.get("/portal/settings").text
    assert f'action="{ACTION}"' not in page
    assert "min_ports" in page
    refused = analyst.post(ACTION, data={"csrf_token": csrf_of(page), "enabled": "on"},
                           follow_redirects=False)  # fmt: skip
    assert refused.status_code == 403
    missing_csrf = portal.as_user("alice").post(ACTION, data={"enabled": "on"},
                                                follow_redirects=False)  # fmt: skip
    assert missing_csrf.status_code == 403
