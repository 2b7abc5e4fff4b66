"""The X-Ray trace id of the current Lambda invocation."""

import os

TRACE_HEADER_VARIABLE = "_X_AMZN_TRACE_ID"


def current_trace_id() -> str | None:
    """The `Root` of the trace header Lambda sets for each invocation (None outside Lambda)."""
    header = os.environ.get(TRACE_HEADER_VARIABLE, "")
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "Root" and value:
            return value
    return None
