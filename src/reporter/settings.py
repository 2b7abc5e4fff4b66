"""The reporter function's settings, from its environment."""

from datetime import timedelta

from pydantic import Field

from common.emf import MetricsDetail
from common.settings import EnvSettings
from traces.sources.choose import TraceSourceSetting


class ReporterSettings(EnvSettings):
    pipeline_name: str = Field(alias="PIPELINE_NAME", min_length=1)
    metrics_namespace: str = Field(alias="POWERTOOLS_METRICS_NAMESPACE", default="TraceCanary", min_length=1)
    manifest_table_name: str = Field(alias="MANIFEST_TABLE_NAME", min_length=3)
    items_table_name: str = Field(alias="ITEMS_TABLE_NAME", min_length=3)
    state_table_name: str = Field(alias="REPORTER_STATE_TABLE_NAME", min_length=3)
    period_minutes: int = Field(alias="REPORT_PERIOD_MINUTES", default=5, ge=1, le=1440)
    lag_minutes: int = Field(alias="REPORT_LAG_MINUTES", default=3, ge=0, le=60)
    max_windows_per_run: int = Field(alias="REPORT_MAX_WINDOWS_PER_RUN", default=12, ge=1, le=288)
    xray_concurrency: int = Field(alias="XRAY_CONCURRENCY", default=4, ge=1, le=16)
    metrics_detail: MetricsDetail = Field(alias="METRICS_DETAIL", default=MetricsDetail.STANDARD)
    # auto: ask where the account's spans go (X-Ray, or CloudWatch Transaction Search) once per environment.
    trace_source: TraceSourceSetting = Field(alias="TRACE_SOURCE", default="auto")
    max_deferrals: int = Field(alias="REPORT_MAX_DEFERRALS", default=3, ge=0, le=12)

    @property
    def period(self) -> timedelta:
        return timedelta(minutes=self.period_minutes)

    @property
    def lag(self) -> timedelta:
        return timedelta(minutes=self.lag_minutes)
