"""Finding the user's media under a builder's manual_dir."""

from __future__ import annotations

import os


def list_media(root: str, suffixes: tuple[str, ...]) -> list[str]:
  """Sorted paths, relative to `root`, of every file below it ending in one of `suffixes`.

  Raises:
    FileNotFoundError: none found (the message names the folder and the suffixes).
  """
  found = sorted(os.path.relpath(os.path.join(folder, name), root)
                 for folder, _, names in os.walk(root) for name in names
                 if os.path.splitext(name)[1].lower() in suffixes)
  if not found:
    raise FileNotFoundError(f"{root}: no files ending in {', '.join(suffixes)}")
  return found
