"""Request and response models of the HTTP API (pydantic), named after the template's ladder.

``XCreate`` / ``XUpdate`` are inputs, ``XPublic`` an output and ``XsPublic``
a page of them (``data``, ``count``, ``limit``, ``offset``). Every string a
client sends has a length limit; every model refuses unknown fields, so a
misspelt key is an error instead of being ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from resolver.vocabulary import ConsentStatus, SubjectType

#: A subject type, or ``person``: what a consent lookup may name.
LookupType = Literal[SubjectType, "person"]

Text = Field(default=None, min_length=1, max_length=256)


class Strict(BaseModel):
    """Request bodies: no unknown fields, no NUL byte in any text (keys included).

    PostgreSQL cannot store NUL in text; refused here, the request gets a 422
    naming the field instead of a 500 from the database.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul_bytes(cls, data: Any) -> Any:
        if _holds_nul(data):
            raise ValueError("text must not contain NUL bytes")
        return data


def _holds_nul(value: Any) -> bool:
    """Whether any text in ``value`` (keys included) holds NUL.

    Walked with a stack, not recursion: a body nested hundreds deep (a segment
    rule of 500 ``not``) reaches the validation that refuses it, not a
    ``RecursionError`` (issue #12).
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


class ErrorBody(BaseModel):
    code: str = Field(examples=["segment_invalid"])
    message: str = Field(examples=["segment `x`: rule.all[0] uses unknown feature `age`"])
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """Every error: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    run_id: str | None = Field(description="The run identify and persons answer from.")
    loaded_at: datetime | None = None
    persons: int | None = None
    segments: int | None = None


class IdentifyRequest(Strict):
    """Who is this? Exact ids are tried first, then the model on the person fields."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"cookie_id": "ck_4f1a9c"},
                {"first_name": "Jane", "last_name": "Doe", "date_of_birth": "1984-03-12",
                 "postcode": "SW1A 1AA"},
            ]
        },
    )  # fmt: skip

    cookie_id: str | None = Text
    device_id: str | None = Text
    customer_id: str | None = Text
    ad_id: str | None = Text
    email: str | None = Text
    phone: str | None = Text
    first_name: str | None = Text
    last_name: str | None = Text
    date_of_birth: str | None = Text
    postcode: str | None = Text
    city: str | None = Text
    address: str | None = Text
    country: str | None = Field(default=None, min_length=2, max_length=2, examples=["GB"])
    national_id: str | None = Text


class IdentifyResponse(BaseModel):
    run_id: str
    person_id: str | None = Field(description="None when no person matches well enough.")
    match_probability: float = Field(ge=0, le=1)
    method: str = Field(
        description="exact:<identifier>, model or none", examples=["exact:cookie_id"]
    )
    candidates: int = Field(ge=0, description="Records the model scored.")
    segments: list[str]
    may_target: bool = Field(description="ad_targeting is effective for the person now.")
    consent: dict[str, bool] = Field(description="Purpose -> allowed now.")
    reason: str | None = Field(default=None, description="Why nothing was matched, if so.")
    action: str | None = Field(
        default=None,
        description=(
            "The next best action now (advisor_call, message, ad, suppress): the "
            "highest-priority segment the person is in whose purposes their consent allows."
        ),
        examples=["advisor_call"],
    )
    action_segment: str | None = Field(default=None, description="The segment that decided it.")


class RecordPublic(BaseModel):
    source: str
    record_key: str
    kind: str
    subject_type: str
    subject_id: str


class DecisionPublic(BaseModel):
    allowed: bool
    status: str
    reason: str
    event_ids: list[str]


class PersonPublic(BaseModel):
    person_id: str
    requested_id: str
    merged: bool = Field(description="The requested id was merged into person_id.")
    run_id: str
    records: list[RecordPublic]
    segments: list[str]
    consent: dict[str, DecisionPublic]


class ErasurePublic(BaseModel):
    erasure_id: str
    requested_at: datetime
    subject_type: str
    subject_id: str
    person_id: str | None
    run_id: str | None
    records: int
    subjects: int
    identifiers: int
    requested_by: str


class ConsentEventCreate(Strict):
    subject_type: SubjectType
    subject_id: str = Field(min_length=1, max_length=256)
    purpose: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$", examples=["ad_targeting"]
    )
    status: ConsentStatus
    recorded_at: datetime = Field(description="With a time zone, e.g. 2026-11-01T10:00:00Z.")
    expires_at: datetime | None = None
    source: str | None = Field(default=None, max_length=64, examples=["cmp"])
    evidence: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict,
        max_length=32,
        description="Form or CMP version, TC string, IP hash: never raw personal data.",
    )
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Idempotency key: the same event_id is stored once.",
    )


class ConsentEventsCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "subject_type": "customer",
                            "subject_id": "C0000000042",
                            "purpose": "ad_targeting",
                            "status": "withdrawn",
                            "recorded_at": "2026-11-30T09:00:00Z",
                            "source": "crm",
                            "evidence": {"form": "preferences-v3"},
                            "event_id": "crm-pref-000917",
                        }
                    ]
                }
            ]
        },
    )

    events: list[ConsentEventCreate] = Field(min_length=1, max_length=1000)


class ConsentWritePublic(BaseModel):
    received: int
    inserted: int
    duplicates: int
    event_ids: list[str]


class ConsentStatePublic(BaseModel):
    subject_type: str
    subject_id: str
    as_of: datetime
    person_id: str | None = Field(description="The person the subject is linked into, if any.")
    run_id: str | None
    subject: dict[str, DecisionPublic] | None = Field(
        description="The subject's own consent (None when asked for a person)."
    )
    person: dict[str, DecisionPublic] | None = Field(
        description="The person's effective consent across every linked subject."
    )


class DecodeRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"string": "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"}]
        },
    )

    string: str = Field(
        min_length=1,
        max_length=20000,
        description="An IAB TCF v2 TC string or a GPP string.",
        examples=["CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"],
    )


class DecodePublic(BaseModel):
    kind: Literal["tcf", "gpp"]
    decoded: dict[str, Any]
    tcf22_violations: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class SegmentCreate(Strict):
    """A segment definition: the same document as a segment file (docs/audiences.md)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "mortgage_readers",
                    "description": "Read about mortgages this week",
                    "rule": {"event": {"type": "page_view", "category": "mortgage",
                                       "within_days": 7}},
                    "destinations": ["google_customer_match"],
                }
            ]
        },
    )  # fmt: skip

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    description: str = Field(default="", max_length=1000)
    rule: dict[str, Any]
    holdout: float = Field(default=0.0, ge=0, lt=1)
    destinations: list[str] = Field(default_factory=list, max_length=16)


class SegmentPublic(BaseModel):
    name: str
    description: str
    rule: dict[str, Any]
    holdout: float
    destinations: list[str]
    origin: Literal["file", "store"]
    version: int | None = Field(description="Stored segments: bumped by every update.")
    size: int | None = Field(description="Persons in the segment in the current run.")


class SegmentsPublic(BaseModel):
    data: list[SegmentPublic]
    count: int
    limit: int
    offset: int


class PreviewDestination(BaseModel):
    purposes: list[str]
    eligible: int
    held_out: int
    refused_consent: int
    unmatchable: int
    min_size: int
    exportable: bool


class PreviewPerson(BaseModel):
    person_id: str
    in_segment: bool
    held_out: bool
    destinations: dict[str, dict[str, Any]]


class PreviewOverlap(BaseModel):
    segment: str
    size: int
    both: int


class SegmentPreview(BaseModel):
    segment: str
    run_id: str
    as_of: datetime
    size: int
    coverage: dict[str, int]
    holdout: float
    destinations: dict[str, PreviewDestination]
    overlap: PreviewOverlap | None = None
    person: PreviewPerson | None = None


class ExportCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"segment": "mortgage_readers_for_ads", "destination": "google_customer_match"}
            ]
        },
    )

    segment: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    destination: str = Field(min_length=1, max_length=64, examples=["google_customer_match"])
    min_size: int | None = Field(
        default=None, ge=1, le=10_000_000, description="Override the destination's minimum."
    )


class ExportPublic(BaseModel):
    export_id: str
    status: Literal["completed"]
    segment: str
    destination: str
    run_id: str
    created_at: datetime
    counts: dict[str, int]
    files: list[str] = Field(description="Names to download from /v1/exports/{id}/files/{name}.")
    manifest_sha256: str


class ExportsPublic(BaseModel):
    data: list[ExportPublic]
    count: int
    limit: int
    offset: int


class RunPublic(BaseModel):
    run_id: str
    status: str
    current: bool
    started_at: datetime
    finished_at: datetime | None
    failed_step: str | None
    summary: dict[str, Any] | None


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int
    limit: int
    offset: int
