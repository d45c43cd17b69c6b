"""How often the continuous detector re-runs a rule while flows keep coming: often enough for an
attack to show within two minutes, rarely for a day's posture insight."""

import flowcdr.detections
from flowcdr.detect.catalogue import load_rules
from flowcdr.detect.continuous import MAX_RERUN_SECONDS, rerun_seconds

RULES = load_rules(flowcdr.detections)


def test_attack_rules_wait_at_most_a_minute_insights_a_twelfth_of_their_window() -> None:
    interval = 15.0
    for rule in RULES.values():
        wait = rerun_seconds(rule, interval)
        if rule.meta.insight:
            assert wait == max(interval, rule.window_seconds / 12), rule.id
        else:
            assert interval <= wait <= MAX_RERUN_SECONDS, rule.id
    assert rerun_seconds(RULES["slow_vertical_port_scan"], interval) == MAX_RERUN_SECONDS
    assert rerun_seconds(RULES["vertical_port_scan"], interval) == interval
    assert rerun_seconds(RULES["cleartext_protocol"], interval) == 7200
    # A live bound within the two-minute promise: the wait, a detection pass, a merge.
    assert MAX_RERUN_SECONDS + interval + 1.0 < 120
