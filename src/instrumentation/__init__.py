"""How the functions are traced, apart from their handlers (OpenTelemetry for the pipeline's twin)."""
