"""The daemonless runtime: one OCI container per call, run by runc without the Docker daemon."""
