"""Atomic file writes: a crash or kill never leaves a half-written file.

On a local disk the data goes to a temporary file in the target's folder,
which is then renamed over the target (atomic on POSIX), so readers see the
old file or the new one, never a part. Anywhere else (`gs://`, `s3://`,
`hdfs://`, `ram://`: any filesystem `tf.io.gfile` knows) the object is
written directly: object stores publish an object whole when its upload is
closed, and have no atomic rename to build on.
"""
import os
import tempfile


def is_local(path):
  """Whether `path` is on the local disk (no scheme, or `file://`)."""
  scheme, sep, _ = str(path).partition('://')
  return not sep or scheme == 'file'


def write_atomic(path, data):
  """Writes `data` (bytes or str) to `path` atomically, mode 0644 locally."""
  if isinstance(data, str):
    data = data.encode('utf-8')
  if not is_local(path):
    _write_remote(path, data)
    return
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


def _write_remote(path, data):
  """Writes one object through tf.io.gfile (TensorFlow imported here: local
  writers need not load it)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tf.io.gfile.makedirs(path.rsplit('/', 1)[0])
  with tf.io.gfile.GFile(path, 'wb') as f:
    f.write(data)


def read_bytes(path):
  """The bytes of the file at `path`, local or on any filesystem
  tf.io.gfile knows (TensorFlow is imported only for the latter).

  Raises:
    OSError: it cannot be read (for a remote path, with TensorFlow's
      message as its strerror).
  """
  if is_local(path):
    with open(path, 'rb') as f:
      return f.read()
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  try:
    with tf.io.gfile.GFile(path, 'rb') as f:
      return f.read()
  except tf.errors.OpError as e:
    raise OSError(None, e.message, path) from None
