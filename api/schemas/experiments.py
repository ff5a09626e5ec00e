"""Experiment and report schemas (``/v1/experiments``, ``/v1/reports/recommendations``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import FiniteFloat, Timestamp


class ExperimentCreate(BaseModel):
    """Body of ``PUT /v1/experiments/{experiment_id}``: arms are published model versions."""

    model_config = ConfigDict(extra="forbid")

    arms: dict[str, str] = Field(
        min_length=2, max_length=8, description="arm name -> model version", examples=[{"A": "v1"}]
    )
    split: dict[str, FiniteFloat] = Field(
        min_length=2, max_length=8, description="arm name -> share of customers; adds up to 1"
    )


class Estimate(BaseModel):
    value: float
    low: float = Field(description="lower end of the 95% confidence interval")
    high: float = Field(description="upper end of the 95% confidence interval")


class ReportGroup(BaseModel):
    key: str = Field(description="the model version or the arm")
    impressions: int
    clicks: int
    ctr: Estimate
    conversions: int = Field(description="impressions followed by a purchase of their item")
    conversion_rate: Estimate
    revenue: float
    revenue_per_impression: Estimate


class ReportComparison(BaseModel):
    baseline: str
    variant: str
    ctr_difference: Estimate
    conversion_rate_difference: Estimate
    revenue_per_impression_difference: Estimate


class ReportMethods(BaseModel):
    confidence: float
    rates: str
    rate_differences: str
    revenue_per_impression: str
    revenue_differences: str


class ReportPublic(BaseModel):
    """Feedback per model version or arm, with 95% intervals, and each group minus the first."""

    by: str
    from_: float | None = Field(alias="from", description="POSIX seconds, inclusive")
    to: float | None = Field(description="POSIX seconds, exclusive")
    window_days: float
    experiment_id: str | None
    groups: list[ReportGroup]
    comparisons: list[ReportComparison]
    methods: ReportMethods

    model_config = ConfigDict(populate_by_name=True)


class ArmStatus(BaseModel):
    version: str
    serving: bool = Field(description="false when this worker cannot load the arm's version")
    problem: str | None
    served_by: str = Field(description="the arm whose version answers this arm's customers")


class ExperimentSummary(BaseModel):
    """An experiment in the tenant's list (its results are ``GET /v1/experiments/{id}``)."""

    experiment_id: str
    arms: dict[str, str]
    split: dict[str, float]
    status: str = Field(description="running or ended")
    started_at: Timestamp
    ended_at: Timestamp | None
    promoted: str | None = Field(description="the version activated when it ended")


class ExperimentList(BaseModel):
    experiments: list[ExperimentSummary]


class ExperimentPublic(ExperimentSummary):
    """One experiment with each arm's serving state and its running results."""

    arm_status: dict[str, ArmStatus]
    results: ReportPublic
