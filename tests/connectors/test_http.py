"""The shared HTTP helper: settings errors name the right setting and never show credentials."""

from __future__ import annotations

import pytest

from desktop.connectors.base import ConfigurationError
from desktop.connectors.http import HttpOptions, make_session


@pytest.mark.parametrize("proxy", ["http://bob:s3cret@proxy.example:31x8", "ftp://bob:s3cret@proxy.example:21"])
def test_a_bad_proxy_is_named_and_masked(proxy: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        make_session(HttpOptions("https://helpdesk.example", proxy=proxy))
    assert info.value.setting == "helpdesk.proxy"
    assert "s3cret" not in str(info.value) and "***:***@proxy.example" in str(info.value)


def test_a_good_proxy_is_used_and_the_environment_ignored() -> None:
    session = make_session(HttpOptions("https://helpdesk.example", proxy="http://proxy.example:3128"))
    assert session.proxies == {"http": "http://proxy.example:3128", "https": "http://proxy.example:3128"}
    assert session.trust_env is False


def test_a_helpdesk_address_that_is_not_http_names_the_url_setting() -> None:
    with pytest.raises(ConfigurationError) as info:
        make_session(HttpOptions("helpdesk.example"))
    assert info.value.setting == "helpdesk.url"


def test_authorization_header_and_a_missing_token() -> None:
    from desktop.connectors import _common

    assert _common.authorization("", "t0k", "Bearer ") == {"Authorization": "Bearer t0k"}
    assert _common.authorization("ann", "t0k", "Bearer ") == {"Authorization": "Basic YW5uOnQwaw=="}
    with pytest.raises(ConfigurationError, match="^Jira needs an API token: set helpdesk.token$") as info:
        _common.required_token("", "Jira needs an API token")
    assert info.value.setting == "helpdesk.token"
