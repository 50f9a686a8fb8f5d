"""Files a command makes: all of them or none, so a failed command leaves nothing behind.

`new_files_removed_on_failure` watches paths that do not exist yet (a new database and its
key, say): if the block fails, whatever of them it created is removed again, with the
folders it made. `OutputFiles` writes each output to a hidden temporary file first and
puts them all in place only when every one is written: a full disk or a missing folder
never leaves a half-written file, nor a half-updated set of files.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path


def missing_folders(folder: Path) -> list[Path]:
    """The folders `mkdir -p folder` would create, outermost first."""
    missing = []
    for candidate in [folder, *folder.parents]:
        if candidate.exists():
            break
        missing.append(candidate)
    return missing[::-1]


def remove_quietly(paths: Iterable[Path], folders: Iterable[Path] = ()) -> None:
    """Remove these files, then these folders innermost first (only while they are empty)."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()


@contextlib.contextmanager
def new_files_removed_on_failure(*paths: Path) -> Iterator[None]:
    """If the block fails, remove those of `paths` (and their missing folders) that it created."""
    new = [p for p in paths if not p.exists()]
    folders = sorted({f for p in new for f in missing_folders(p.parent)})
    try:
        yield
    except BaseException:
        remove_quietly(new, folders)
        raise


class OutputFiles:
    """Files written together: `with OutputFiles(folder) as out: out.write(name, data)`.

    Nothing is in place until the block ends without an error; then each file replaces
    any old one of that name at once (os.replace). A folder made for them is removed
    again if the block fails."""

    def __init__(self, folder: Path, mode: int = 0o644) -> None:
        self.folder = Path(folder)
        self.mode = mode
        self._pending: list[tuple[Path, Path]] = []
        self._made: list[Path] = []

    def __enter__(self) -> OutputFiles:
        self._made = missing_folders(self.folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except BaseException:
            remove_quietly((), self._made)
            raise
        return self

    def write(self, name: str, data: bytes | str) -> Path:
        """Write one file's content to a hidden temporary file beside where it will go; return its final path."""
        final = self.folder / name
        temporary = final.with_name(f".{final.name}.part")
        self._pending.append((temporary, final))
        fd = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, self.mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        return final

    def __exit__(self, kind: object, error: object, tb: object) -> None:
        if error is not None:
            remove_quietly([temporary for temporary, _final in self._pending], self._made)
            return
        for temporary, final in self._pending:
            os.replace(temporary, final)
