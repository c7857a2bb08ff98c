"""Operations: sync health per agent and tenant, telemetry (traces, metrics) and its setup."""
