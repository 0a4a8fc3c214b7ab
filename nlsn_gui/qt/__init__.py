"""The Qt application: the main window, its views and panels, the worker thread, the theme.

Views observe :mod:`nlsn_gui.state` and submit :mod:`nlsn_gui.tasks` to the worker; panels reach
the window only through :class:`nlsn_gui.qt.host.Host`.
"""
