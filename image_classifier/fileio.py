"""Atomic file writes: a crash or kill never leaves a half-written file.

The data goes to a temporary file in the target's folder, which is then
renamed over the target (atomic on POSIX), so readers see the old file or
the new one, never a part.
"""
import os
import tempfile


def write_atomic(path, data):
  """Writes `data` (bytes or str) to `path` atomically, mode 0644."""
  if isinstance(data, str):
    data = data.encode('utf-8')
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
  try:
    with os.fdopen(fd, 'wb') as f:
      f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise
