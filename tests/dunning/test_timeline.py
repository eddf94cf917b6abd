"""The one timeline function: exact dates for the defaults, and properties for any valid policy."""
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning import policy as rules
from dunning.timeline import plan_timeline


def default_policy(**overrides):
    data = {
        "max_retries": 5, "retry_interval_days": [1, 2, 3, 5, 7], "grace_period_days": 30,
        "suspend_after_retries": True, "auto_retry_enabled": True, "ladder": rules.default_ladder(),
    }
    data.update(overrides)
    return data


def test_default_policy_exact_dates():
    failed = dt.date(2026, 11, 1)
    timeline = plan_timeline(default_policy(), failed, due_date=failed)
    assert [e.date.day for e in timeline.retries] == [2, 4, 7, 12, 19]
    assert timeline.suspension.date == dt.date(2026, 11, 20)  # the day after the last retry
    assert [(e.key, e.date) for e in timeline.reminders] == [
        ("payment_failed", dt.date(2026, 11, 1)),
        ("action_required", dt.date(2026, 11, 4)),  # anchored to retry 2
        ("final_warning", dt.date(2026, 11, 17)),  # three days before the suspension
        ("suspended", dt.date(2026, 11, 20)),
    ]
    assert timeline.reminders[-1].at_suspension and not timeline.reminders[2].at_suspension


def test_grace_period_wins_when_earlier_and_ladder_follows_it():
    failed = dt.date(2026, 11, 1)
    timeline = plan_timeline(default_policy(grace_period_days=10), failed, due_date=dt.date(2026, 10, 25))
    assert timeline.suspension.date == dt.date(2026, 11, 4)
    assert timeline.reminders[2].date == dt.date(2026, 11, 4)  # final warning never before the previous step


def test_no_retries_when_auto_retry_is_off():
    timeline = plan_timeline(default_policy(auto_retry_enabled=False), dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 1))
    assert timeline.retries == [] and timeline.suspension.date == dt.date(2026, 12, 1)
    assert timeline.reminders[1].date == dt.date(2026, 11, 4)  # still defined from the nominal retry dates


def test_changing_intervals_moves_the_ladder_with_them():
    failed = dt.date(2026, 11, 1)
    slow = plan_timeline(default_policy(retry_interval_days=[2, 4, 6, 8, 10]), failed, failed)
    assert slow.reminders[1].date == slow.retries[1].date == dt.date(2026, 11, 7)
    assert slow.reminders[2].date == slow.suspension.date - dt.timedelta(days=3)


@st.composite
def policies(draw):
    retries = draw(st.integers(min_value=0, max_value=8))
    intervals = draw(st.lists(st.integers(min_value=1, max_value=30), min_size=retries, max_size=retries))
    steps = []
    for index in range(draw(st.integers(min_value=1, max_value=6))):
        anchor = draw(st.sampled_from(["failure", "retry", "suspension"] if retries else ["failure", "suspension"]))
        offset = draw(st.integers(min_value=0 if anchor == "failure" else -10, max_value=10))
        steps.append({"key": f"s{index}", "anchor": anchor, "retry": draw(st.integers(1, retries)) if anchor == "retry" else None,
                      "offset_days": offset, "template": "dunning_reminder", "channel": "email"})
    data = {"max_retries": retries, "retry_interval_days": intervals, "grace_period_days": draw(st.integers(1, 90)),
            "suspend_after_retries": draw(st.booleans()), "auto_retry_enabled": draw(st.booleans()),
            "retry_method_order": ["default_card"], "ladder": steps}
    clean, errors = rules.clean_policy(data)
    assert not errors, errors
    return clean


dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31))


@settings(max_examples=300, deadline=None)
@given(policy=policies(), failed=dates, due_offset=st.integers(min_value=-60, max_value=30))
def test_timeline_properties(policy, failed, due_offset):
    due = failed + dt.timedelta(days=due_offset)
    timeline = plan_timeline(policy, failed, due)
    retry_dates = [e.date for e in timeline.retries]
    # one retry per configured retry (none when auto-retry is off), strictly increasing, after the failure
    assert len(retry_dates) == (policy["max_retries"] if policy["auto_retry_enabled"] else 0)
    assert all(a < b for a, b in zip([failed, *retry_dates], retry_dates))
    if retry_dates:
        assert retry_dates[-1] - failed == dt.timedelta(days=sum(policy["retry_interval_days"]))
    # suspension: never before the failure, never after the grace deadline
    grace = due + dt.timedelta(days=policy["grace_period_days"])
    assert failed <= timeline.suspension.date <= max(grace, failed)
    if policy["suspend_after_retries"] and retry_dates:
        assert timeline.suspension.date <= retry_dates[-1] + dt.timedelta(days=1)
    # ladder: one event per step, in step order, never before the failure
    reminder_dates = [e.date for e in timeline.reminders]
    assert [e.number for e in timeline.reminders] == list(range(1, len(policy["ladder"]) + 1))
    assert reminder_dates == sorted(reminder_dates) and reminder_dates[0] >= failed
    # deterministic, and the merged event list holds everything
    assert plan_timeline(policy, failed, due) == timeline
    assert len(timeline.events) == len(retry_dates) + len(reminder_dates) + 1


@given(policy=policies(), failed=dates)
@settings(max_examples=100, deadline=None)
def test_next_action_walks_every_planned_event(policy, failed):
    timeline = plan_timeline(policy, failed, failed)
    retries_done = step = 0
    seen = 0
    while (nxt := timeline.next_action(retries_done=retries_done, step=step, suspended=False)) is not None and seen < 100:
        seen += 1
        if nxt.kind == "retry":
            retries_done += 1
        elif nxt.kind == "reminder":
            step += 1
        else:
            break
    assert nxt is None or nxt.kind == "suspension"


def test_policy_validation_messages():
    _, errors = rules.clean_policy({**default_policy(), "retry_interval_days": [1, 2], "retry_method_order": ["default_card"]})
    assert "need 5 intervals" in errors["retry_interval_days"][0]
    _, errors = rules.clean_policy({**default_policy(), "retry_interval_days": [1, 0, 3, 5, 7], "retry_method_order": ["x"]})
    assert "between 1 and" in errors["retry_interval_days"][0] and "Unknown method" in errors["retry_method_order"][0]
    ladder = rules.default_ladder()
    ladder[1]["retry"] = 9
    _, errors = rules.clean_policy({**default_policy(), "ladder": ladder, "retry_method_order": ["default_card"]})
    assert "anchored to retry 9" in errors["ladder"][0]
