"""What the entry points share: user errors as one line, flag records,
quiet logs.

A user error (bad flag, missing directory, unknown name, incompatible
checkpoint, corrupt record) ends as one line on stderr,
`<script>: error: <what was wrong and what to do>`, and exit status 2.
Anything else is a bug and keeps its traceback.

Every log message is printed once, in absl's format, and TensorFlow's
deprecation notices are hidden unless --verbosity=1 or more (`quiet_logs`).
"""
import contextlib
import errno
import json
import logging
import os
import signal
import sys
import tempfile
import threading

from absl import app
from absl import flags
from absl import logging as absl_logging

from image_classifier import fileio


class UserError(Exception):
  """An error in what the user asked for; reported as one line."""


@contextlib.contextmanager
def user_input(what=None):
  """Turns ValueError/TypeError raised inside into a UserError.

  Use it narrowly, around code that resolves user-supplied values (a name
  looked up in a factory, a checkpoint read), so real bugs elsewhere keep
  their tracebacks.

  Args:
    what: optional prefix for the message, e.g. '--checkpoint_path'.
  """
  try:
    yield
  except (ValueError, TypeError) as e:
    message = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
    raise UserError(f'{what}: {message}' if what else message) from e


def fail(message):
  """Raises a UserError with `message`."""
  raise UserError(message)


def _signals():
  """slim.signals, imported when first needed: importing the slim package
  loads TensorFlow, which scripts that may not need it (classify_images.py
  on a TFLite model) import only after `tf_env` quiets it."""
  from slim import signals  # pylint: disable=import-outside-toplevel
  return signals


@contextlib.contextmanager
def noting_stop_signals():
  """Records SIGINT and SIGTERM received inside, for the exit status.

  `slim.learning.train` stops gracefully on both (checkpoint, then return),
  so a script would otherwise exit 0 and `train && eval` would go on to
  evaluate an interrupted run. Inside, SIGINT still raises
  KeyboardInterrupt as Python's default handler does, and slim.learning's
  SIGTERM handler calls this one after flagging its stop.

  Yields:
    The list of signal numbers received (empty if none); exit with
    128 + the first, as a shell reports a process a signal ended.
  """
  received = []

  def on_sigint(signum, frame):
    del frame
    received.append(signum)
    raise KeyboardInterrupt

  def on_sigterm(signum, frame):
    del frame
    received.append(signum)

  with _signals().handling({signal.SIGINT: on_sigint,
                            signal.SIGTERM: on_sigterm}):
    yield received


def check_no_arguments(argv):
  """Fails unless `argv` (absl's, program name first) holds only flags."""
  if len(argv) > 1:
    fail(f'unexpected arguments {argv[1:]}; all options are flags '
         '(--<name>=<value>).')


_REPORTED = threading.Lock()


def _report(message):
  """Prints the one error line, once per process even if two threads fail
  at once (a watchdog and the main thread, say)."""
  if _REPORTED.acquire(blocking=False):
    print(f'{os.path.basename(sys.argv[0])}: error: {message}',
          file=sys.stderr, flush=True)


def exit_now(message):
  """Reports a user error from any thread and ends the process at once.

  For a watchdog thread whose main thread is blocked in a session run that
  will never return (a cluster task died): an exception could not reach
  main, so this prints the same one line as `run` and exits with status 2
  without unwinding.
  """
  absl_logging.flush()
  _report(message)
  os._exit(2)  # pylint: disable=protected-access


class _HideTensorFlowChatter(logging.Filter):
  """Drops the 'tensorflow' logger's deprecation notices ('From <file>:
  <name> (from <module>) is deprecated and will be removed ...', 'The name
  tf.X is deprecated ...'), all logged from TensorFlow's deprecation.py,
  and its internal timings ('Sharding callback duration: N microseconds',
  logged at each checkpoint save by functional_saver.py)."""

  def filter(self, record):
    return not (os.path.basename(record.pathname) == 'deprecation.py'
                or ' is deprecated' in record.getMessage()
                or record.getMessage().startswith(
                    'Sharding callback duration'))


_HIDE_CHATTER = _HideTensorFlowChatter()


def quiet_logs(verbosity=0):
  """Prints each log message once and hides TensorFlow's deprecations
  and internal timings.

  `import tensorflow` gives the 'tensorflow' logger a handler of its own
  (format 'INFO:tensorflow:...') because the root logger has none yet;
  absl.app.run then installs absl's handler on the root logger, and every
  message of TensorFlow's, propagated, went to both: printed twice.
  Removing TensorFlow's handler leaves absl's, which formats every line
  alike. Call it once absl's handler is installed (inside absl.app.run).

  Args:
    verbosity: absl's --verbosity; 1 or more keeps the deprecation notices
      and timings.
  """
  tf_logger = logging.getLogger('tensorflow')
  for handler in list(tf_logger.handlers):
    tf_logger.removeHandler(handler)
  if verbosity >= 1:
    tf_logger.removeFilter(_HIDE_CHATTER)
  else:
    tf_logger.addFilter(_HIDE_CHATTER)


# What an OSError of the disk, not of the code, ends with (see `run`).
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def disk_error_message(error, output_flag, resumable=False):
  """The one line for an OSError that the disk caused, or None for a bug.

  Args:
    error: an OSError.
    output_flag: the flag naming where the script writes, e.g.
      '--dataset_dir', for the advice on a place it may not write.
    resumable: whether a rerun keeps what was finished (said on a full disk).

  Returns:
    The message for a full disk or quota, or a place not writable; None for
    any other error.
  """
  if error.errno in _DISK_FULL:
    where = f': {error.filename}' if error.filename else ''
    kept = ': finished parts are kept' if resumable else ''
    return (f'disk full ({error.strerror}{where}); free some space and '
            f'rerun{kept}')
  if error.errno in _NOT_WRITABLE:
    return (f'cannot write {error.filename} ({error.strerror}); choose a '
            f'writable {output_flag}')
  return None


@contextlib.contextmanager
def _interrupted_by_sigterm(received):
  """Inside, SIGTERM raises KeyboardInterrupt as Ctrl-C does, so that a
  killed run unwinds (temporary files removed, workers stopped) instead of
  vanishing; each signal's number is appended to `received`."""

  def interrupt(signum, frame):
    del frame
    received.append(signum)
    raise KeyboardInterrupt

  with _signals().handling({signal.SIGINT: interrupt,
                            signal.SIGTERM: interrupt}):
    yield


def _load_filesystem_plugins():
  """Makes the command line's s3:// or hdfs:// paths reachable
  (fileio.load_filesystem_plugins), or ends in one line saying what to
  install."""
  try:
    fileio.load_filesystem_plugins(sys.argv[1:])
  except OSError as e:
    raise UserError(e.strerror) from None


def run(main, extra_user_errors=(), output_flag=None, resumable=False):
  """absl.app.run(main), reporting user errors as one line and exit 2.

  Logs are quiet (`quiet_logs`) from the moment flags are parsed.

  Args:
    main: the script's main(argv).
    extra_user_errors: exception classes reported as user errors besides
      UserError (e.g. DatasetError).
    output_flag: for a script that writes much (a dataset converter), the
      flag naming where: a full disk or a place it may not write then ends
      as a user error naming it (`disk_error_message`), not a traceback.
    resumable: whether rerunning the same command resumes the work. Then
      Ctrl-C and SIGTERM end with one line saying so and exit status
      128 + the signal, as a shell reports a process a signal ended.
  """
  user_errors = (UserError,) + tuple(extra_user_errors)

  def guarded_main(argv):
    quiet_logs(flags.FLAGS.verbosity)
    received = []
    try:
      _load_filesystem_plugins()
      with (_interrupted_by_sigterm(received) if resumable
            else contextlib.nullcontext()):
        return main(argv)
    except user_errors as e:
      _report(e)
      sys.exit(2)
    except KeyboardInterrupt:
      if not resumable:
        raise
      _report('interrupted; rerun the same command to resume')
      sys.exit(128 + (received[0] if received else signal.SIGINT))
    except OSError as e:
      message = output_flag and disk_error_message(e, output_flag, resumable)
      if not message:
        raise
      _report(message)
      sys.exit(2)

  app.run(guarded_main)


# One implementation, in fileio; the name the scripts have always used.
write_json_atomic = fileio.write_json_atomic


def ensure_writable_dir(path, flag_name):
  """Creates `path` if needed and checks that files can be written there.

  Local or remote (`fileio.is_local`): a remote folder is checked by
  writing and removing a small probe object, as no permission bits say
  more.

  Raises:
    UserError: naming the flag, if it cannot be created or written.
  """
  if not path:
    fail(f'{flag_name} must be set.')
  if fileio.is_local(path):
    _ensure_writable_local_dir(fileio.local_path(path), flag_name)
  else:
    _ensure_writable_remote_dir(path, flag_name)


def _ensure_writable_local_dir(path, flag_name):
  """`ensure_writable_dir` on the local disk."""
  if os.path.exists(path) and not os.path.isdir(path):
    fail(f'{flag_name}: {path} is a file, not a folder; choose a folder '
         'that can be written.')
  try:
    os.makedirs(path, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
      pass
  except OSError as e:
    fail(f'{flag_name}={path} is not writable: {e.strerror or e}.')


def _ensure_writable_remote_dir(path, flag_name):
  """`ensure_writable_dir` on a `tf.io.gfile` filesystem."""
  files = fileio.gfile()
  try:
    with fileio.os_errors(path):
      if files.exists(path) and not files.isdir(path):
        fail(f'{flag_name}: {path} is a file, not a folder; choose a '
             'folder that can be written.')
      files.makedirs(path)
      probe = f'{path.rstrip("/")}/.write-probe-{os.getpid()}'
      with files.GFile(probe, 'wb') as f:
        f.write(b'')
      files.remove(probe)
  except OSError as e:
    fail(f'{flag_name}={path} is not writable: {e.strerror or e}.')


def check_output_file(path, flag_name):
  """Fails unless `path` can be written as a file: not a folder, in a folder
  that exists (created if needed) and is writable.

  Raises:
    UserError: naming the flag.
  """
  if not path:
    fail(f'{flag_name} must be set.')
  if fileio.is_local(path):
    path = fileio.local_path(path)
    if os.path.isdir(path):
      fail(f'{flag_name}={path} is a folder; pass the path of the file to '
           'write.')
    ensure_writable_dir(os.path.dirname(os.path.abspath(path)), flag_name)
    return
  if fileio.gfile().isdir(path):
    fail(f'{flag_name}={path} is a folder; pass the path of the file to '
         'write.')
  parent = fileio.remote_parent(path)
  if parent:
    ensure_writable_dir(parent, flag_name)
