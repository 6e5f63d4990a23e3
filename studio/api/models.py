"""Request and response bodies of /api/v1 (pydantic): the OpenAPI document is generated from these."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")


def _utc(value: dt.datetime) -> dt.datetime:
    """Times are sent with their zone (RFC 3339); the embedded store keeps them naive, in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


Time = Annotated[dt.datetime, AfterValidator(_utc)]

Name = Field(min_length=1, max_length=120)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListOf(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` for the next page (null: no more)."""

    items: list[T]
    next_cursor: str | None = None


# --- data sets ----------------------------------------------------------------------------------------------

class Dataset(BaseModel):
    id: uuid.UUID
    name: str
    version: int
    filename: str
    row_count: int
    column_count: int
    size_bytes: int
    updated_at: Time


class DatasetVersion(BaseModel):
    version: int
    filename: str
    row_count: int
    size_bytes: int
    created_at: Time


class Column(BaseModel):
    name: str
    original_name: str
    kind: str
    null_count: int
    examples: list[Any]
    format: str | None = None


# --- templates and rule sets -------------------------------------------------------------------------------

class Template(BaseModel):
    id: uuid.UUID
    name: str
    format: str = Field(description="platform/format, e.g. reddit/thread")
    fields: dict[str, str]
    version: int
    updated_at: Time


class TemplateCreate(Strict):
    name: str = Name
    format: str = Field(min_length=3, max_length=81, description="platform/format, e.g. reddit/thread")
    fields: dict[str, str] = Field(default_factory=dict)


class TemplateUpdate(Strict):
    fields: dict[str, str] | None = None
    expected_version: int | None = Field(default=None, ge=1, description="refused (409) if a newer one was saved")
    note: str = Field(default="", max_length=200)
    name: str | None = Field(default=None, min_length=1, max_length=120)


class TemplateVersion(BaseModel):
    version: int
    fields: dict[str, str]
    saved_at: Time | None
    saved_by: str
    note: str


class RuleSet(BaseModel):
    id: uuid.UUID
    name: str
    rules: list[dict[str, Any]]
    updated_at: Time
    version: int = 1


class RuleSetVersion(BaseModel):
    version: int
    rules: list[dict[str, Any]]
    saved_at: Time | None
    saved_by: str
    note: str


class RuleSetCreate(Strict):
    name: str = Name
    rules: list[dict[str, Any]] = Field(default_factory=list, max_length=500)


class RuleSetUpdate(Strict):
    rules: list[dict[str, Any]] = Field(max_length=500)
    name: str | None = Field(default=None, min_length=1, max_length=120)
    note: str = Field(default="", max_length=200)


# --- preview, campaign sets, jobs --------------------------------------------------------------------------

class PreviewRequest(Strict):
    dataset_id: uuid.UUID
    config: dict[str, Any] = Field(description="platform, format, templates, rules, … as on the Preview page")
    limit: int = Field(default=20, ge=1, le=100)


class PreviewResponse(BaseModel):
    variations: list[dict[str, Any]]
    figures: dict[str, Any] = Field(description="whole-data-set figures: rows, skipped, kept, valid, duplicates, …")
    fallback_fields: dict[str, str]


class CampaignSet(BaseModel):
    id: uuid.UUID
    name: str
    dataset_id: uuid.UUID | None
    dataset_version: int
    format: str
    status: str
    status_reason: str
    variation_count: int
    created_at: Time
    updated_at: Time


class CampaignSetCreate(Strict):
    name: str = Name
    dataset_id: uuid.UUID
    config: dict[str, Any]


class GenerateRequest(Strict):
    overwrite_edits: bool = Field(default=False, description="replace hand-edited variations too")
    up_to_allowance: bool = Field(default=False, description="over the plan's allowance: generate what fits")


class JobAccepted(BaseModel):
    job_id: uuid.UUID
    status_url: str


class Job(BaseModel):
    id: uuid.UUID
    campaign_set_id: uuid.UUID
    status: Literal["queued", "running", "done", "cancelled", "error"] | str
    finished: bool
    progress: float = Field(ge=0, le=1)
    rows_done: int
    rows_total: int
    chunks_done: int
    chunks_total: int
    variations: int
    error: str
    seconds: float
    figures: dict[str, Any]


# --- variations --------------------------------------------------------------------------------------------

class Variation(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: uuid.UUID
    row: int
    variation: int
    status: str
    valid: bool | None = None


class VariationEdit(Strict):
    fields: dict[str, str] = Field(min_length=1)


class StatusChange(Strict):
    ids: list[uuid.UUID] | None = Field(default=None, max_length=10_000,
                                        description="these variations; omitted: every one the filter matches")
    status: str | None = None
    valid: bool | None = None
    search: str | None = Field(default=None, max_length=200)
    tag: str | None = Field(default=None, max_length=120)


class Changed(BaseModel):
    changed: int


class ExportFormat(BaseModel):
    name: str
    label: str


# --- publishing, usage, keys -------------------------------------------------------------------------------

class PublishPlanRequest(Strict):
    options: dict[str, Any] = Field(default_factory=dict, description="account_ids, timezone, hours, days, start_at, …")
    commit: bool = Field(default=False, description="false: only show the plan; true: schedule it")


class PlannedItem(BaseModel):
    key: str
    variation_id: uuid.UUID
    kind: str
    title: str
    subreddit: str
    account: str
    at: Time


class Refusal(BaseModel):
    title: str
    subreddit: str
    reason: str


class PublishPlan(BaseModel):
    committed: bool
    items: list[PlannedItem]
    refused: list[Refusal]


class PublishItem(BaseModel):
    id: uuid.UUID
    set_name: str
    kind: str
    state: str
    title: str
    subreddit: str
    account: str
    at: Time
    reason: str
    attempts: int
    reddit_url: str
    posted_at: Time | None


class UsageLine(BaseModel):
    metric: str
    used: int
    limit: int | None


class Usage(BaseModel):
    period: str
    plan: str
    billing_enabled: bool
    usage: list[UsageLine]
    members: int
    storage_bytes: int
