"""Files anywhere: the few operations whose local and remote forms differ.

Every path the toolkit reads or writes may be local or on a filesystem
that TensorFlow's `tf.io.gfile` reaches by scheme (`gs://` as installed,
`s3://` and `hdfs://` with tensorflow-io, `ram://` in memory for tests).
Code calls `tf.io.gfile` directly for what works alike everywhere (exists,
isdir, listdir, glob, makedirs, remove, copy, GFile, stat); this module
holds what cannot:

- `write_atomic`: readers see the old file or the new one, never a part.
  A local file is written to a temporary file in the target's folder and
  renamed over the target (atomic on POSIX). Object stores have no atomic
  rename, but an object is created only when its upload completes, so a
  remote path is written directly: no reader ever lists a half-written
  object. TensorFlow's `ram://` is the exception: writing a file that
  exists appends to it (TF 2.16-2.21, `tf.io.gfile.copy` too), so there the
  data goes to a temporary name renamed over the target, which `ram://`
  does atomically.
- `append_text`: a local file is appended to in one write (a kill leaves
  at most a cut last line); object stores cannot append, so there the
  object is read and written again whole, with the text added.
- `os_errors`: `tf.io.gfile` raises `tf.errors.OpError`, not `OSError`;
  inside, the former become the latter, so the callers' handling of a
  missing file, a full disk or a place not writable is one `except OSError`
  for every filesystem.

TensorFlow is imported only when a remote path (or an error to translate)
needs it, through `tf_env` so that its start-up banners stay hidden:
`classify_images.py` on a TFLite model and `--help` never load it.
"""
import contextlib
import errno
import json
import os
import re
import sys
import tempfile
import uuid

# A URL scheme as RFC 3986 defines it, then '://'.
_SCHEME = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*)://')


def _tensorflow():
  """TensorFlow, imported quietly on first need."""
  from image_classifier import tf_env  # pylint: disable=import-outside-toplevel
  return tf_env.import_tensorflow()


def gfile():
  """`tf.io.gfile`, imported on first use (see the module docstring)."""
  return _tensorflow().io.gfile


def is_local(path):
  """Whether `path` is on the local disk: no scheme, or `file://`."""
  match = _SCHEME.match(os.fspath(path))
  return match is None or match.group(1).lower() == 'file'


def local_path(path):
  """The `os` form of a local `path` (without a `file://` scheme)."""
  path = os.fspath(path)
  return path[len('file://'):] if path.lower().startswith('file://') else path


# Schemes whose filesystems the tensorflow-io package registers when it is
# imported (TensorFlow itself dropped them; gs:// and ram:// are built in).
PLUGIN_SCHEMES = ('s3', 'hdfs', 'viewfs', 'har', 'az')
_PLUGIN_PATH = re.compile(
    r'(?:^|[=,\s])(%s)://' % '|'.join(PLUGIN_SCHEMES), re.IGNORECASE)


def load_filesystem_plugins(args):
  """Imports tensorflow-io when a command-line argument names a path on a
  filesystem only it provides (`--train_dir=s3://...`), so that
  `tf.io.gfile` reaches it; nothing otherwise.

  Args:
    args: the command line (flags as `--name=value`).

  Returns:
    The scheme that needed the plugin, or None.

  Raises:
    OSError: (ENOPROTOOPT) tensorflow-io is not installed; the message
      says how to install it.
  """
  for arg in args:
    match = _PLUGIN_PATH.search(arg)
    if match:
      try:
        import tensorflow_io  # pylint: disable=import-outside-toplevel,unused-import
      except ImportError:
        raise OSError(
            errno.ENOPROTOOPT,
            f'{match.group(1)}:// paths need the tensorflow-io package '
            '(pip install tensorflow-io), whose file systems tf.io.gfile '
            'then reaches; TensorFlow alone reads local, gs:// and ram:// '
            f'paths ({arg})') from None
      return match.group(1).lower()
  return None


def parent(path):
  """The folder `path` is in: absolute for a local path, the remote folder
  (`remote_parent`) for one with a scheme."""
  if is_local(path):
    return os.path.dirname(os.path.abspath(local_path(path)))
  return remote_parent(path)


def remote_parent(path):
  """The folder of a remote `path`, or '' for one at a filesystem's root
  (`ram://x`, whose parent `os.path.dirname` would make 'ram:')."""
  parent = path.rstrip('/').rsplit('/', 1)[0]
  return '' if _SCHEME.fullmatch(parent + '/') else parent


# tf.errors class name -> the errno of the OSError it becomes.
_ERRNOS = {
    'NotFoundError': errno.ENOENT,
    'AlreadyExistsError': errno.EEXIST,
    'PermissionDeniedError': errno.EACCES,
    'UnauthenticatedError': errno.EACCES,
    'ResourceExhaustedError': errno.ENOSPC,
    'FailedPreconditionError': errno.EIO,
    'UnavailableError': errno.EIO,
    'DeadlineExceededError': errno.ETIMEDOUT,
    'UnimplementedError': errno.ENOSYS,  # A scheme without its plugin.
}


@contextlib.contextmanager
def os_errors(path):
  """Inside, a `tf.errors.OpError` of a file operation becomes an OSError.

  Args:
    path: the file the operations inside are about, the OSError's filename.

  Raises:
    OSError: with the errno nearest the TensorFlow error (ENOENT for
      NotFoundError, so FileNotFoundError; EACCES for PermissionDenied;
      ENOSPC for ResourceExhausted; else EIO) and TensorFlow's message as
      its strerror.
  """
  try:
    yield
  except Exception as e:  # pylint: disable=broad-except
    tf = sys.modules.get('tensorflow')  # An OpError needs it loaded.
    if tf is None or not isinstance(e, tf.errors.OpError):
      raise
    code = _ERRNOS.get(type(e).__name__, errno.EIO)
    raise OSError(code, e.message or os.strerror(code),
                  os.fspath(path)) from e


def _write_local_atomic(path, data):
  """Temporary file in the target's folder, then renamed over the target."""
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


def _write_remote_whole(path, data):
  """The object is written in one upload, visible only once complete
  (on `ram://`, which appends, renamed into place)."""
  files = gfile()
  with os_errors(path):
    directory = remote_parent(path)
    if directory and not files.isdir(directory):
      files.makedirs(directory)
    appends = _SCHEME.match(path).group(1).lower() == 'ram'
    written = f'{path}.tmp-{uuid.uuid4().hex}' if appends else path
    with files.GFile(written, 'wb') as f:
      f.write(data)
    if appends:
      files.rename(written, path, overwrite=True)


def write_atomic(path, data):
  """Writes `data` (bytes or str) to `path` atomically, mode 0644 locally.

  Raises:
    OSError: if it cannot be written (remote errors translated).
  """
  if isinstance(data, str):
    data = data.encode('utf-8')
  if is_local(path):
    _write_local_atomic(local_path(path), data)
  else:
    _write_remote_whole(os.fspath(path), data)


def write_json_atomic(path, value):
  """Writes `value` as indented JSON to `path` atomically."""
  write_atomic(path, json.dumps(value, indent=2, sort_keys=True) + '\n')


def read_bytes(path):
  """The content of the file at `path`, any filesystem.

  Raises:
    OSError: FileNotFoundError if missing, or another (remote errors
      translated).
  """
  if is_local(path):
    with open(local_path(path), 'rb') as f:
      return f.read()
  with os_errors(path):
    with gfile().GFile(os.fspath(path), 'rb') as f:
      return f.read()


def read_text(path):
  """The UTF-8 text of the file at `path` (see `read_bytes`).

  Raises:
    OSError: as `read_bytes`.
    UnicodeDecodeError: if it is not UTF-8 (a ValueError).
  """
  return read_bytes(path).decode('utf-8')


def read_json(path):
  """The JSON value in the file at `path` (see `read_bytes`).

  Raises:
    OSError: as `read_bytes`.
    ValueError: if it is not UTF-8 JSON (json.JSONDecodeError and
      UnicodeDecodeError are ValueErrors).
  """
  return json.loads(read_text(path))


def append_text(path, text):
  """Appends `text` to the file at `path` (created if missing).

  Locally one write in append mode. A remote object is rewritten whole
  with `text` added (object stores have no append; `write_atomic` keeps
  the old object until the new one is complete), which costs its size:
  for the small logs this is used for.
  """
  if is_local(path):
    with open(local_path(path), 'a', encoding='utf-8') as f:
      f.write(text)
    return
  try:
    data = read_bytes(path)
  except FileNotFoundError:
    data = b''
  write_atomic(path, data + text.encode('utf-8'))
