"""NLSN Studio, the desktop app: a Qt-free state (``state``) and worker jobs (``tasks``) under thin
views (``qt``); ``app`` starts it. Layers and rules: ``docs/architecture.md``."""
