"""Apache Airflow provider for Instagram (Instagram API with Instagram Login, and the retired Basic Display)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
