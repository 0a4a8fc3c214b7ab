"""Jobs the worker thread runs, without Qt: closures ``fn(ctx) -> result`` made only of ``core`` calls.

``ctx`` is the worker's job context: ``ctx.progress(fraction, text)``, ``ctx.cancelled()``,
``ctx.check()`` (raises when cancelled) and ``ctx.models`` (the :class:`~nlsn_gui.tasks.models.ModelCache`).
Display arrays are made here too, so the UI thread only hands ready pixels to the views.
"""
