"""The desktop window (PySide6).  The only package that imports Qt.

It calls the services and receives plain dataclasses or ids; it never holds a database
session.  :func:`exoref.gui.app.run` starts it; :class:`exoref.gui.window.MainWindow` takes an
explicit :class:`exoref.gui.context.Services` object.
"""
