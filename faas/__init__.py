"""What the gateway and the watchdog share: settings, wire records, specs, the bus, errors."""

__version__ = "0.1.0"
