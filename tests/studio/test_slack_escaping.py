"""Slack messages carry names and errors as text: a set named `<!channel>` does not ping the channel, a name with
`<https://…|Click>` adds no link, and the studio's own "Open in Dotoro Studio" link still works."""

from __future__ import annotations

import json
import re

import pytest

from studio import events, webhooks
from tests.http_receiver import receiver
from tests.studio.events_fixtures import estore, held, owner  # noqa: F401

HOSTILE = "<!channel> <https://evil.example|Click> & <@U024BE7LH>"
ESCAPED = "&lt;!channel&gt; &lt;https://evil.example|Click&gt; &amp; &lt;@U024BE7LH&gt;"


@pytest.mark.parametrize(("kind", "data"), [
    ("generation.completed", {"set_name": HOSTILE, "variations": 3}),  # a campaign set's name
    ("dataset.refreshed", {"dataset_name": HOSTILE, "version": 2}),  # a data set's name
    ("generation.failed", {"set_name": "Spring", "error": HOSTILE}),  # an error text (from a remote server)
])
def test_a_slack_delivery_carries_names_and_errors_escaped(estore, held, kind, data):  # noqa: F811 (fixtures)
    o = owner(estore)
    with receiver() as rec:
        webhooks.set_slack(estore, o, rec.url, [kind])
        with estore.session_scope(o) as s:
            events.emit(s, kind, data)
        held.run()
    assert len(rec.requests) == 1
    text = json.loads(rec.requests[0].body)["text"]
    assert ESCAPED in text
    assert "<!channel>" not in text and "<https://evil" not in text and "<@U" not in text
    (link,) = re.findall(r"<[^>]*>", text)  # the only markup left is the studio's own link
    assert link.startswith("<" + estore.settings.public_url.rstrip("/") + "/") and link.endswith("|Open in Dotoro Studio>")
