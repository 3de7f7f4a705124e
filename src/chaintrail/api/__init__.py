"""REST API and web workbench: ``create_app(store_path, token=...)`` builds the FastAPI app."""

from chaintrail.api.app import create_app
from chaintrail.api.workbench import Limits, Workbench

__all__ = ["Limits", "Workbench", "create_app"]
