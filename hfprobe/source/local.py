"""Local files opened for ranged reads, and the byte counter every source shares."""

from __future__ import annotations

import threading
from pathlib import Path

from ..errors import SourceAccessError, SourceNotFoundError


class ByteCounter:
    """Bytes read so far by one source (every file it opened, companions included); files read side by side
    (`Source.read_each`) add to it from several threads."""

    def __init__(self) -> None:
        self.bytes = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.bytes += n


class LocalFile:
    """A local file opened for ranged reads."""

    def __init__(self, path: Path, counter: ByteCounter, display: str | None = None):
        self.path = path
        self.name = display or str(path)
        self._counter = counter
        try:
            self.size = path.stat().st_size
            self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()/GC; files are read many times
        except PermissionError:
            raise SourceAccessError(f"{self.name}: permission denied; check the file's permissions") from None
        except IsADirectoryError:
            raise SourceNotFoundError(f"{self.name}: is a folder, not a file") from None
        except OSError as err:
            raise SourceAccessError(f"{self.name}: cannot be read ({err.strerror}); check the path") from None

    def read(self, offset: int, length: int) -> bytes:
        self._fh.seek(offset)
        data = self._fh.read(length)
        self._counter.add(len(data))
        return data

    def close(self) -> None:
        self._fh.close()
