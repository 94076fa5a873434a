"""The small pure pieces behind the dashboards: p99 from histogram buckets, minute keys, ages,
diff limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apis.console.diffing import MAX_DIFF_CHARS, document_diff
from registry.web.board import ago
from registry.web.traffic import VersionTraffic, minute_keys


@pytest.mark.parametrize(
    ("buckets", "p99"),
    [
        ({}, None),
        ({"5": 100}, "5"),
        ({"5": 98, "50": 1, "1000": 1}, "50"),  # the 99th request of 100 is in the 50 ms bucket
        ({"5": 50, "inf": 50}, "inf"),
        ({"10": 990, "10000": 10}, "10"),
    ],
)
def test_p99_is_the_bucket_holding_the_99th_percentile(
    buckets: dict[str, int], p99: str | None
) -> None:
    assert VersionTraffic(1, latency=buckets).p99_ms == p99


def test_minute_keys_count_back_from_the_current_utc_minute() -> None:
    now = datetime(2026, 11, 29, 0, 1, 30, tzinfo=UTC).timestamp()
    assert minute_keys(now, 3) == ["202611290001", "202611290000", "202611282359"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "0 s"),
        (42, "42 s"),
        (89, "89 s"),
        (90, "1 min"),
        (3599, "59 min"),
        (7200, "2 h"),
        (3 * 86400, "3 d"),
    ],
)
def test_ages_are_short(seconds: float, text: str) -> None:
    assert ago(seconds) == text


def test_documents_too_large_to_diff_are_not_diffed() -> None:
    big = {"x": "y" * MAX_DIFF_CHARS}
    assert document_diff({}, big, old_name="a", new_name="b") is None
    small = document_diff({"a": 1}, {"a": 2}, old_name="old", new_name="new")
    assert small is not None and '-  "a": 1' in small and '+  "a": 2' in small
