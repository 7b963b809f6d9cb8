"""Pages read ahead on a thread arrive in order; errors and early stops behave like plain iteration."""

import threading

import pytest

from sync.pull import prefetched


def test_pages_arrive_in_order():
    pages = [[{"n": i}] for i in range(50)]
    assert list(prefetched(iter(pages))) == pages


def test_reader_error_reaches_the_consumer_after_the_good_pages():
    def pages():
        yield [1]
        yield [2]
        raise ConnectionError("ERP went away")

    received = []
    with pytest.raises(ConnectionError, match="ERP went away"):
        for page in prefetched(pages()):
            received.append(page)
    assert received == [[1], [2]]


def test_stopping_early_ends_the_reader():
    produced = []

    def pages():
        for i in range(1000):
            produced.append(i)
            yield [i]

    before = threading.active_count()
    for page in prefetched(pages(), depth=2):
        if page == [3]:
            break
    assert threading.active_count() == before
    assert len(produced) < 10  # read ahead by a couple of pages only
