"""The executor node: takes calls from NATS and runs each in a fresh container."""
