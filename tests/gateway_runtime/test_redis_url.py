"""Redis URLs: the redis+sentinel:// form, its errors, redaction, and what Celery is given."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from gateway_runtime.redis_url import (
    RedisUrlError,
    SentinelUrl,
    check_url,
    kombu_url,
    parse_sentinel_url,
    redact_url,
)
from gateway_runtime.settings import SettingsError, parse_settings
from portal.local_redis import free_port
from tests.gateway_runtime.conftest import ROOT


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis+sentinel://s1/mymaster", SentinelUrl((("s1", 26379),), "mymaster")),
        (
            "redis+sentinel://:p%40ss@s1:26380,s2,[::1]:26381/cache/3/",
            SentinelUrl((("s1", 26380), ("s2", 26379), ("::1", 26381)), "cache", 3, None, "p@ss"),
        ),
        (
            "redis+sentinel://app:pw@s1:1/svc?sentinel_password=sp&socket_timeout=0.5",
            SentinelUrl(
                (("s1", 1),),
                "svc",
                0,
                "app",
                "pw",
                (("sentinel_password", "sp"), ("socket_timeout", 0.5)),
            ),
        ),
    ],
)
def test_good_sentinel_urls(url: str, expected: SentinelUrl) -> None:
    assert parse_sentinel_url(url) == expected
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+sentinel://s1:26379", "no service name"),
        ("redis+sentinel://s1:26379/", "no service name"),
        ("redis+sentinel:///svc", "no sentinel address"),
        ("redis+sentinel://s1,,s2/svc", "sentinel address '' is not HOST[:PORT]"),
        ("redis+sentinel://s1:99999/svc", "sentinel port '99999' is not 1..65535"),
        ("redis+sentinel://s1:x/svc", "sentinel port 'x'"),
        ("redis+sentinel://s1/svc/zero", "database 'zero' is not a number"),
        ("redis+sentinel://s1/svc/0/1", "the path is /SERVICE[/DB]"),
        ("redis+sentinel://s1/svc?db=2", "unknown option 'db'"),
        ("redis+sentinel://s1/svc?socket_timeout=soon", "socket_timeout='soon' is not a positive"),
        ("redis+sentinel://s1/svc?socket_timeout=1&socket_timeout=2", "given twice"),
        ("redis+sentinel://s1/svc#frag", "no #fragment"),
        ("sentinel://s1:26379", "must start with redis://, rediss://, unix:// or redis+sentinel"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(RedisUrlError, match=None) as caught:
        check_url(url)
    assert problem in str(caught.value)


def test_errors_and_redaction_never_show_a_password() -> None:
    url = "redis+sentinel://u:hunter2@s1/svc/x?sentinel_password=hunter3"
    with pytest.raises(RedisUrlError) as caught:
        check_url(url)
    assert "hunter" not in str(caught.value)
    assert redact_url(url) == "redis+sentinel://s1/svc/x?sentinel_password=***"
    assert redact_url("redis://:pw@cache:6379/0") == "redis://cache:6379/0"  # as before
    assert redact_url("unix://:pw@/run/redis.sock?db=1&password=x") == (
        "unix:///run/redis.sock?db=1&password=***"
    )


def test_kombu_gets_its_own_sentinel_form() -> None:
    assert kombu_url("redis://cache:6379/0") == ("redis://cache:6379/0", {})
    assert kombu_url("amqp://rabbit//") == ("amqp://rabbit//", {})
    url, options = kombu_url(
        "redis+sentinel://:p%40ss@s1:26379,[::1]/jobs/2"
        "?sentinel_password=sp&socket_connect_timeout=2"
    )
    assert url == "sentinel://:p%40ss@s1:26379/2;sentinel://:p%40ss@[::1]:26379/2"
    retry = options["sentinel_kwargs"].pop("retry")
    assert retry.get_retries() == 0  # the next Sentinel is the retry
    assert options == {
        "master_name": "jobs",
        "socket_connect_timeout": 2.0,
        "sentinel_kwargs": {"socket_connect_timeout": 2.0, "password": "sp"},
    }


def test_the_gateway_accepts_sentinel_urls_and_names_the_option_in_errors() -> None:
    url = "redis+sentinel://s1:26379,s2:26379/mymaster/0"
    assert parse_settings(["--redis", url], {}).redis_url == url
    with pytest.raises(SettingsError, match=r"^--redis: .*no service name"):
        parse_settings(["--redis", "redis+sentinel://s1:26379"], {})


def _portal_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.REDIS_URL); print(s.CELERY_BROKER_URL); "
        "print(s.CELERY_BROKER_TRANSPORT_OPTIONS.get('master_name'))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    clean["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.slow  # three Django start-ups
def test_the_portal_derives_the_celery_broker_from_a_sentinel_redis_url() -> None:
    url = "redis+sentinel://s1:26379,s2:26380/mymaster/1"
    result = _portal_settings({"REDIS_URL": url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        url,
        "sentinel://s1:26379/1;sentinel://s2:26380/1",
        "mymaster",
    ]
    given = _portal_settings({"REDIS_URL": url, "CELERY_BROKER_URL": "redis://jobs:6379/2"})
    assert given.stdout.splitlines()[1:] == ["redis://jobs:6379/2", "None"]
    bad = _portal_settings({"REDIS_URL": "redis+sentinel://s1:26379"})
    assert bad.returncode != 0
    assert "ImproperlyConfigured: REDIS_URL: 'redis+sentinel://s1:26379': no service name" in (
        bad.stderr
    )


def test_export_config_names_an_unreachable_sentinel_url_without_its_passwords(settings) -> None:
    dead = free_port()
    settings.REDIS_URL = (
        f"redis+sentinel://app:hunter2@127.0.0.1:{dead}/mymaster/0?sentinel_password=hunter3"
    )
    with pytest.raises(CommandError) as caught:
        call_command("export_config", stdout=io.StringIO())
    message = str(caught.value)
    assert f"Redis is unreachable (redis+sentinel://127.0.0.1:{dead}/mymaster/0?" in message
    assert "sentinel_password=***" in message
    assert "hunter" not in message
