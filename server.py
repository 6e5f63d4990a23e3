"""`make run`: the studio and its HTTP routes on one port — `streamlit run server.py` serves this st.App.

Beside the pages: POST /stripe/webhook, GET /oauth/reddit/callback, GET /healthz, GET /readyz
(studio.http). Page errors reach the log through on_script_error (studio.ui.logs).
"""

from __future__ import annotations

import streamlit as st

from studio import http_deadline, logging_setup
from studio.http import Endpoints
from studio.ui.logs import on_script_error
from workers import bindings

bindings.install()  # studio.jobs → workers/: the routes (API, webhooks) queue jobs too
http_deadline.install()  # before uvicorn starts: a client must send its request head within 10 s
_endpoints = Endpoints()
logging_setup.configure(_endpoints.settings)  # before the first page run: the routes log from the start
app = st.App("app.py", routes=_endpoints.routes(), lifespan=_endpoints.lifespan, on_script_error=on_script_error)
