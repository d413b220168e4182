"""`server.state` is checked before any worker starts, without echoing a Redis password."""

from __future__ import annotations

import pytest

from runtime.routing.backend import StateUrlError, check_state_url


@pytest.mark.parametrize(
    "url",
    ["memory", "redis://127.0.0.1:6379/0", "rediss://:pw@cache.internal:6380/2", "unix:///run/redis.sock"],
)
def test_usable_state_urls_pass(url: str) -> None:
    check_state_url(url)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("redis://:s3cret@127.0.0.1:notaport/0", "Port could not be cast"),
        ("http://:s3cret@127.0.0.1:6379/0", "redis://, rediss://, unix://"),
    ],
)
def test_unusable_state_urls_are_named_without_their_secret(url: str, fragment: str) -> None:
    with pytest.raises(StateUrlError) as err:
        check_state_url(url)
    assert fragment in str(err.value) and "s3cret" not in str(err.value)
