"""No Bad Parts coach: an offline, real-time IFS-style peer-support coach."""

__version__ = "0.1.0"
