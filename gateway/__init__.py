"""The HTTP front door: invocation routes and the management API."""
