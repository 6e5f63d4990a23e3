"""The demo: 60 products with a target subreddit and flair, and a saved template written for its columns."""

from __future__ import annotations

from pathlib import Path

from studio import datasets, templates
from studio.context import Context, Permission
from studio.errors import ValidationFailed
from studio.permissions import requires
from studio.store.session import Store

CSV = Path(__file__).resolve().parent / "reddit_threads_sample.csv"
NAME = "Demo products"
TEMPLATE = "Demo threads"
THREAD = {
    "subreddit": "{{ subreddit }}",
    "title": "{{ product_name }} in {{ city | default('your city') }} — now {{ sale_price or price }}",
    "body": "We tried the **{{ product_name }}** ({{ category }}).\n\n{{ highlight | default('Worth a look') | capitalize }}.",
    "flair": "{{ flair }}",
}


@requires(Permission.EDIT)
def load(store: Store, ctx: Context) -> datasets.DatasetSummary:
    """Upload the demo data set, and save its thread template unless the workspace already has one by that name."""
    summary = datasets.upload(store, ctx, CSV.name, CSV.read_bytes(), name=NAME)
    try:
        templates.create_template(store, ctx, TEMPLATE, "reddit/thread", THREAD)
    except ValidationFailed:  # loaded before: the template is there already
        pass
    return summary
