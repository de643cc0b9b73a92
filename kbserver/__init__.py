"""Knowledge base and procedures manual for IT support desks."""

__version__ = "0.1.0"
