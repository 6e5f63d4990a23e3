"""Attacks on the surfaces added for issues 19-21 (webhooks and Slack addresses, feeds, inline variations)."""

from __future__ import annotations

import pytest

from studio import net_guard


@pytest.mark.parametrize("host", ["[2002:7f00:1::]", "[2002:a9fe:a9fe::1]", "[2002:0a00:0001::]",
                                  "[64:ff9b::a9fe:a9fe]", "[::ffff:169.254.169.254]", "[::]", "0.0.0.0",
                                  "2130706433", "0177.0.0.1", "127.1"])
def test_a_webhook_address_cannot_tunnel_to_a_private_ipv4(host):
    """6to4 (2002::/16) carries an IPv4 address inside: a private one there is as private as the IPv4 itself."""
    with pytest.raises(net_guard.UnsafeUrl, match="private or local"):
        net_guard.check_url(f"http://{host}/hook", allow_private=False)


def test_a_public_6to4_address_is_still_accepted():
    assert net_guard.check_url("http://[2002:808:808::1]/hook", allow_private=False).addresses == ("2002:808:808::1",)
