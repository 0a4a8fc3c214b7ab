"""The bottom layer: user-facing errors, cooperative interruption, the allocator, atomic files, text.

Nothing here imports another part of ``core``.
"""
