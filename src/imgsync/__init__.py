"""imgsync: mirror container images between registries, skipping what did not change."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("imgsync")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
