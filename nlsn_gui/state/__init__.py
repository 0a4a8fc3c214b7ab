"""The app's state, without Qt: what is open, what is chosen, which jobs run, what the inspector and
the training panel hold. The views in :mod:`nlsn_gui.qt` observe it and never keep state of their
own; everything here is tested without a QApplication.
"""
