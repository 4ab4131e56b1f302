"""WEB_TRUSTED_PROXIES: addresses or networks whose X-Forwarded-For / -Proto are believed.

In Kubernetes the web app's peer is the ingress controller's pod, whose address changes with
every restart: the setting names its network (kubernetes/, docs/deploy.md). Anyone else's
forwarded headers stay unbelieved, so a client cannot choose the address the sign-in throttle
counts against."""
from __future__ import annotations

from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.config import Settings
from bot.web.keys import SETTINGS
from bot.web.security import client_address, is_trusted_proxy


def request_from(peer: str, proxies: str, forwarded: str = "198.51.100.7") -> web.Request:
    app = web.Application()
    app[SETTINGS] = Settings.from_env({"WEB_TRUSTED_PROXIES": proxies})
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default)
    return make_mocked_request("POST", "/console/signin", headers={"X-Forwarded-For": forwarded},
                               app=app, transport=transport)


@pytest.mark.parametrize(("peer", "proxies", "address"), [
    ("10.42.3.17", "10.42.0.0/16", "198.51.100.7"),          # an ingress pod in the pod network
    ("10.43.0.5", "10.42.0.0/16", "10.43.0.5"),              # outside it: the peer itself
    ("192.0.2.10", "192.0.2.10", "198.51.100.7"),            # one address, as before
    ("192.0.2.11", "192.0.2.10", "192.0.2.11"),
    ("::ffff:10.42.9.9", "10.42.0.0/16", "198.51.100.7"),    # IPv4 through a dual-stack socket
    ("fd00::5", "fd00::/64, 10.42.0.0/16", "198.51.100.7"),
    ("10.42.3.17", "", "10.42.3.17"),                        # empty: nobody is believed
])
def test_forwarded_for_is_believed_only_from_the_named_proxies(peer: str, proxies: str,
                                                               address: str) -> None:
    assert client_address(request_from(peer, proxies)) == address


def test_settings_refuse_what_is_not_an_address_or_network() -> None:
    with pytest.raises(ValueError, match="WEB_TRUSTED_PROXIES"):
        Settings.from_env({"WEB_TRUSTED_PROXIES": "10.42.0.0/16, ingress-nginx"})
    assert Settings.from_env({"WEB_TRUSTED_PROXIES": " 10.42.1.0/16 ,192.0.2.1"}).trusted_proxies == {
        "10.42.0.0/16", "192.0.2.1"}


def test_a_peer_that_is_not_an_address_is_never_a_proxy() -> None:
    assert not is_trusted_proxy("", frozenset({"0.0.0.0/0"}))
    assert not is_trusted_proxy("/run/web.sock", frozenset({"0.0.0.0/0"}))
