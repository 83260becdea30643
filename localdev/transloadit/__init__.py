"""Local TransloadIt stand-in: Assemblies API, tus uploads, ffmpeg robots, /backblaze/store into the local S3,
signed notify_url callbacks. Start with `python -m localdev.transloadit --port 8840`."""

from .config import Settings

__all__ = ["Settings", "create_app"]


def create_app(settings: Settings | None = None):
    """Flask app factory (see app.create_app)."""
    from .app import create_app as _create

    return _create(settings)
