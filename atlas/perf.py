"""Small helpers for hot paths."""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector for a burst of allocations that create no cycles.

    Building hundreds of thousands of small objects that are all kept (schedule periods, month
    rows) triggers a full collection again and again, each scanning every object kept so far:
    half of a 10,000-loan projection's CPU. Reference counting still frees everything; the
    collector is re-enabled afterwards (if it was on) and catches up on its next run. Nests:
    an inner use leaves the collector as the outer one set it. Also a decorator.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def padded(values, pad, step: int = 500) -> list:
    """``values`` without repeats, padded to a multiple of ``step`` with ``pad(0)``, ``pad(1)``, … (values
    that match no row), for the ``IN (…)`` list of a query run once per chunk of a large job.

    SQLite's driver keeps the last 128 statement texts prepared, and an ``IN`` list of another
    length is another text: 2,000 ids hold ≈ 0.4 MB of prepared statement, so a lookup per chunk of
    an L import held tens of MB. Padded, a chunked job uses a few texts. (Django's ``__in`` lookup
    drops repeats too: they are dropped here first so that the padded length is the one sent.)
    """
    values = list(dict.fromkeys(values))
    return values + [pad(i) for i in range(-len(values) % step)]
