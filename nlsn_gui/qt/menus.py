"""The window's actions and menus: File, Model, View, Help."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from nlsn_gui.qt.theme import THEMES
from nlsn_gui.state.recent import RecentFiles


def make_action(window: QMainWindow, text: str, slot, shortcut=None, *, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.NativeText)})" if shortcut else tip)
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def insert_after(menu: QMenu, after: QAction, action: QAction) -> None:
    """Put ``action`` into ``menu`` just after ``after`` (at the end when ``after`` is not there)."""
    actions = menu.actions()
    index = actions.index(after) + 1 if after in actions else len(actions)
    menu.insertAction(actions[index] if index < len(actions) else None, action)


@dataclass
class Menus:
    file: QMenu
    model: QMenu
    recent: QMenu
    view: QMenu
    theme: QMenu


def build_menus(window, on_theme) -> Menus:
    """File, Model, View and Help of ``window`` (its ``act_*`` actions); ``on_theme(key)`` for View > Theme."""
    bar = window.menuBar()
    file = bar.addMenu("&File")
    file.addAction(window.act_open)
    recent = file.addMenu("Open &Recent")
    for action in (window.act_paste, window.act_sample, None, window.act_save, window.act_batch, None, window.act_quit):
        file.addSeparator() if action is None else file.addAction(action)
    model = bar.addMenu("&Model")
    for action in (window.act_model, window.act_average, None, window.act_upscale, window.act_cancel, None,
                   window.act_output_size):
        model.addSeparator() if action is None else model.addAction(action)
    view = bar.addMenu("&View")
    view.addAction(window.act_fit)
    for action in window.act_zooms:
        view.addAction(action)
    view.addSeparator()
    view.addAction(window.act_swipe)
    theme = view.addMenu("&Theme")
    for key, label in THEMES.items():
        action = theme.addAction(label)
        action.setCheckable(True)
        action.setData(key)
        action.triggered.connect(lambda checked=False, k=key: on_theme(k))
    help_menu = bar.addMenu("&Help")
    for action in (window.act_shortcuts, window.act_docs, None, window.act_about):
        help_menu.addSeparator() if action is None else help_menu.addAction(action)
    return Menus(file=file, model=model, recent=recent, view=view, theme=theme)


def fill_recent(menu: QMenu, recent: RecentFiles, open_recent, changed) -> None:
    """File > Open Recent from ``recent``: ``open_recent(path)`` on a click, ``changed()`` once cleared."""
    menu.clear()
    files = recent.paths()
    for i, (path, label) in enumerate(zip(files, recent.labels(files)), start=1):
        action = menu.addAction(f"&{i % 10} {label}")
        action.setToolTip(path)
        action.triggered.connect(lambda checked=False, p=path: open_recent(Path(p)))
    if files:
        menu.addSeparator()
        menu.addAction("Clear Menu", lambda: (recent.clear(), changed()))
    menu.setEnabled(bool(files))
