"""ExoRef: a reference manager for research on MSC-derived exosome therapy."""

__version__ = "0.1.0"
APP_ID = "org.exoref.ExoRef"
APP_NAME = "ExoRef"
