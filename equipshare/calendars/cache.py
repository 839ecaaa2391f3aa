"""Recently built feed bodies, by ETag, in this process.

Many subscribers (Google Calendar, Outlook.com) poll without conditional headers, so a 304 does
not help them; the ETag already names the exact body (it digests everything the body depends
on, including the feed's id), so a body built once can be served again until the ETag changes.
Per process and bounded in bytes: each gunicorn worker keeps its own few megabytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class BodyCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            body = self._items.get(etag)
            if body is not None:
                self._items.move_to_end(etag)
            return body

    def put(self, etag: str, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:  # one huge feed must not evict all the others
            return
        with self._lock:
            if etag in self._items:
                return
            self._items[etag] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _old, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._items)


bodies = BodyCache()
