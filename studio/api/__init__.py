"""The public HTTP API, `/api/v1`, served by the studio's own process (issue 20).

Why FastAPI mounted in st.App rather than starlette routes plus a schema generator: the API's contract is
its pydantic request and response models, and FastAPI turns exactly those into the OpenAPI document
(`/api/v1/openapi.json`), the docs page (`/api/v1/docs`) and request validation (a malformed body is a 422
problem before any service runs). With bare starlette the same models would have to be validated by hand
and described to a separate generator that can drift from the code. FastAPI is starlette underneath, so it
mounts beside the studio's other routes on the one port (studio/http.py) with nothing else to run.

- ``app``: the FastAPI application, its middleware (key, rate limit, body cap, idempotency, audit, usage)
  and problem details; ``routers``: one module a resource; ``keys``: creating, listing and revoking keys
  (the Workspace → API keys page); ``access``: authenticating a key and recording its use.
"""
