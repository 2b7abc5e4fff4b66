"""OpenTelemetry for a Lambda function, set up by hand from the few SDK pieces it uses.

What `LambdaTracing.for_lambda()` builds, once per execution environment (at import, so Init pays for it):
- a TracerProvider with `AwsXRayIdGenerator` (trace ids whose first 8 hex digits are the start time, as X-Ray
  requires) and a resource of what `AwsLambdaResourceDetector` reads from Lambda's variables (cloud.provider,
  cloud.platform, cloud.region, faas.name, faas.version, faas.instance, faas.max_memory), with service.name =
  `AWS_LAMBDA_FUNCTION_NAME`, after which X-Ray names the SERVER span's segment;
- spans exported as OTLP over UDP to `AWS_XRAY_DAEMON_ADDRESS` (Lambda's X-Ray endpoint; 127.0.0.1:2000
  where unset) by the distro's `OTLPUdpSpanExporter`, behind a BatchSpanProcessor of at most 10 spans a
  datagram (as the distro does on Lambda: a datagram stays under UDP's 64 KB), flushed before each invocation
  returns, since Lambda freezes the environment once the response is sent: one datagram an invocation, the
  resource encoded once for all its spans (a simple processor would encode and send each span alone);
- botocore calls as CLIENT spans (`BotocoreInstrumentor`, bound to this provider, not to a global one).
Each invocation runs in a SERVER span named after the function, as OpenTelemetry's semantic conventions for
AWS Lambda have it (faas.invocation_id, cloud.account.id, cloud.resource_id, faas.trigger, faas.coldstart;
faas.document.* for a one-record S3 event), whose parent comes from `_X_AMZN_TRACE_ID`
(`AwsXRayLambdaPropagator`): with active tracing, Lambda's function segment. `Sampled=0` there makes the
invocation's spans non-recording (the SDK's default parent-based sampler), so nothing is sent for it. A
failing invocation's span records the exception and has status ERROR (the SDK's `start_as_current_span`).

Not `opentelemetry-instrument`: auto-instrumentation loads every instrumentation installed (the distro
brings some 40) and the distro's configurator (Application Signals, metrics, logs) on every cold start. Not
opentelemetry-instrumentation-aws-lambda either: it wraps the handler named in `_HANDLER` by patching its
module, takes the parent from the event's HTTP headers unless given an extractor, sets no trigger for S3
events, and flushes a meter provider this function does not have.
"""

import os
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from amazon.opentelemetry.distro.otlp_udp_exporter import OTLPUdpSpanExporter
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.propagators.aws import AwsXRayLambdaPropagator
from opentelemetry.sdk.extension.aws.resource import AwsLambdaResourceDetector
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.semconv._incubating.attributes.cloud_attributes import CLOUD_ACCOUNT_ID, CLOUD_RESOURCE_ID
from opentelemetry.semconv._incubating.attributes.faas_attributes import (
    FAAS_COLDSTART,
    FAAS_DOCUMENT_COLLECTION,
    FAAS_DOCUMENT_NAME,
    FAAS_DOCUMENT_OPERATION,
    FAAS_DOCUMENT_TIME,
    FAAS_INVOCATION_ID,
    FAAS_TRIGGER,
    FaasDocumentOperationValues,
    FaasTriggerValues,
)
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from common.errors import SettingsError

DAEMON_ADDRESS_VARIABLE = "AWS_XRAY_DAEMON_ADDRESS"
DEFAULT_DAEMON_ADDRESS = "127.0.0.1:2000"  # the distro's default, where the variable is unset
FUNCTION_NAME_VARIABLE = "AWS_LAMBDA_FUNCTION_NAME"
SPANS_PER_DATAGRAM = 10  # the distro's batch size on Lambda
SCOPE = "tracecanary.lambda"  # the instrumentation scope of the SERVER span
_S3_OPERATIONS = {
    "ObjectCreated": FaasDocumentOperationValues.INSERT.value,
    "ObjectRemoved": FaasDocumentOperationValues.DELETE.value,
}


class LambdaContext(Protocol):
    """What the SERVER span reads of the context Lambda passes the handler."""

    @property
    def function_name(self) -> str: ...
    @property
    def invoked_function_arn(self) -> str: ...
    @property
    def aws_request_id(self) -> str: ...


def daemon_address(environ: Mapping[str, str]) -> str:
    """`host:port` of Lambda's X-Ray endpoint, or SettingsError naming the variable."""
    address = environ.get(DAEMON_ADDRESS_VARIABLE) or DEFAULT_DAEMON_ADDRESS
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(
            f"{DAEMON_ADDRESS_VARIABLE} (got {address!r}): expected host:port, e.g. 127.0.0.1:2000"
        )
    return address


def lambda_resource(environ: Mapping[str, str]) -> Resource:
    """The function's resource: the Lambda detector's attributes, service.name = the function's name."""
    named = {SERVICE_NAME: environ[FUNCTION_NAME_VARIABLE]} if environ.get(FUNCTION_NAME_VARIABLE) else {}
    return Resource.create(named).merge(AwsLambdaResourceDetector().detect())


class LambdaTracing:
    """One provider, its exporter and the botocore instrumentation; one SERVER span per invocation."""

    def __init__(self, exporter: SpanExporter, resource: Resource) -> None:
        self.provider = TracerProvider(resource=resource, id_generator=AwsXRayIdGenerator())
        self.provider.add_span_processor(
            BatchSpanProcessor(exporter, max_export_batch_size=SPANS_PER_DATAGRAM)
        )
        self._tracer = self.provider.get_tracer(SCOPE)
        self._propagator = AwsXRayLambdaPropagator()
        self._cold = True
        self._instrumented = False

    @classmethod
    def for_lambda(cls, environ: Mapping[str, str] | None = None) -> "LambdaTracing":
        """As a function on Lambda sends its spans: OTLP over UDP to the X-Ray endpoint."""
        source = os.environ if environ is None else environ
        return cls(OTLPUdpSpanExporter(endpoint=daemon_address(source)), lambda_resource(source))

    def instrument(self) -> None:
        """botocore's calls become CLIENT spans of this provider (one instrumentation per process)."""
        if not self._instrumented:
            BotocoreInstrumentor().instrument(tracer_provider=self.provider)
            self._instrumented = True

    def uninstrument(self) -> None:
        if self._instrumented:
            BotocoreInstrumentor().uninstrument()
            self._instrumented = False

    def shutdown(self) -> None:
        self.uninstrument()
        self.provider.shutdown()

    @contextmanager
    def invocation(self, event: object, context: LambdaContext) -> Iterator[Span]:
        """The invocation's SERVER span, current inside the block; every span ended is sent on leaving it."""
        attributes = invocation_attributes(event, context, cold_start=self._cold)
        self._cold = False
        parent = self._propagator.extract({})  # the carrier is empty: the header comes from _X_AMZN_TRACE_ID
        try:
            with self._tracer.start_as_current_span(
                context.function_name, context=parent, kind=SpanKind.SERVER, attributes=attributes
            ) as span:
                yield span
        finally:
            self.provider.force_flush()


def invocation_attributes(
    event: object, context: LambdaContext, cold_start: bool
) -> dict[str, AttributeValue]:
    """The SERVER span's attributes: the invocation, the function, and what triggered it."""
    attributes: dict[str, AttributeValue] = {
        FAAS_INVOCATION_ID: context.aws_request_id,
        FAAS_COLDSTART: cold_start,
    }
    arn = context.invoked_function_arn.split(":")
    if len(arn) >= 7:  # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS]
        attributes[CLOUD_ACCOUNT_ID] = arn[4]
        attributes[CLOUD_RESOURCE_ID] = ":".join(arn[:7])
    return attributes | trigger_attributes(event)


def trigger_attributes(event: object) -> dict[str, AttributeValue]:
    """faas.trigger, and for a one-record S3 notification the faas.document.* attributes of its object."""
    if not isinstance(event, Mapping):
        return {FAAS_TRIGGER: FaasTriggerValues.OTHER.value}
    if event.get("Event") == "s3:TestEvent":  # S3's own, when a notification is configured
        return {FAAS_TRIGGER: FaasTriggerValues.DATASOURCE.value}
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        return {FAAS_TRIGGER: FaasTriggerValues.OTHER.value}
    if not all(isinstance(record, Mapping) and record.get("eventSource") == "aws:s3" for record in records):
        return {FAAS_TRIGGER: FaasTriggerValues.OTHER.value}
    attributes: dict[str, AttributeValue] = {FAAS_TRIGGER: FaasTriggerValues.DATASOURCE.value}
    if len(records) == 1:
        attributes |= _document_attributes(records[0])
    return attributes


def _document_attributes(record: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """What the semantic conventions ask of a datasource trigger, as far as the record has it."""
    s3 = _mapping(record.get("s3"))
    found: dict[str, object] = {
        FAAS_DOCUMENT_COLLECTION: _mapping(s3.get("bucket")).get("name"),
        FAAS_DOCUMENT_OPERATION: _S3_OPERATIONS.get(str(record.get("eventName", "")).partition(":")[0]),
        FAAS_DOCUMENT_TIME: record.get("eventTime"),
    }
    key = _mapping(s3.get("object")).get("key")
    if isinstance(key, str):
        found[FAAS_DOCUMENT_NAME] = urllib.parse.unquote_plus(key)  # S3 URL-encodes keys in events
    return {name: value for name, value in found.items() if isinstance(value, str) and value}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
