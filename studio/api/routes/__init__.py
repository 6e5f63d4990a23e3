"""The API's routers, one a resource. A new resource (e.g. webhooks) is one more module listed in ROUTERS."""

from __future__ import annotations

from fastapi import APIRouter

from studio.api.routes import content, datasets, generation, publishing, usage, variations

ROUTERS: list[APIRouter] = [datasets.router, content.templates, content.rule_sets, generation.router,
                            variations.router, publishing.router, usage.router]
