import gc

import pytest

from atlas.perf import gc_paused


def test_gc_paused_pauses_and_restores_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_gc_paused_nests_and_leaves_a_disabled_collector_disabled():
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner exit does not switch it back on
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gc_paused_as_a_decorator_keeps_the_function():
    @gc_paused()
    def f(x):
        """doc"""
        return gc.isenabled(), x

    assert f(3) == (False, 3)
    assert f.__name__ == "f" and f.__doc__ == "doc"
    assert gc.isenabled()
