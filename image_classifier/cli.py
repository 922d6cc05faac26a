"""What the four entry points share: user errors as one line, flag records,
quiet logs.

A user error (bad flag, missing directory, unknown name, incompatible
checkpoint, corrupt record) ends as one line on stderr,
`<script>: error: <what was wrong and what to do>`, and exit status 2.
Anything else is a bug and keeps its traceback.

Every log message is printed once, in absl's format, and TensorFlow's
deprecation notices are hidden unless --verbosity=1 or more (`quiet_logs`).
"""
import contextlib
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

  previous = {signal.SIGINT: signal.signal(signal.SIGINT, on_sigint),
              signal.SIGTERM: signal.signal(signal.SIGTERM, on_sigterm)}
  try:
    yield received
  finally:
    for signum, handler in previous.items():
      signal.signal(signum, handler)


def check_no_arguments(argv):
  """Fails unless `argv` (absl's, program name first) holds only flags."""
  if len(argv) > 1:
    fail(f'unexpected arguments {argv[1:]}; all options are --flags.')


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


def run(main, extra_user_errors=()):
  """absl.app.run(main), reporting user errors as one line and exit 2.

  Logs are quiet (`quiet_logs`) from the moment flags are parsed.
  """
  user_errors = (UserError,) + tuple(extra_user_errors)

  def guarded_main(argv):
    quiet_logs(flags.FLAGS.verbosity)
    try:
      return main(argv)
    except user_errors as e:
      _report(e)
      sys.exit(2)

  app.run(guarded_main)


def check_checkpoint_fits(checkpoint_path, variables, what, advice):
  """Fails with one line unless the checkpoint holds every variable, shaped
  as in the graph (see `slim.variables.checkpoint_fit_problems`).

  Args:
    checkpoint_path: a checkpoint prefix.
    variables: a list of variables, or {name in checkpoint: variable}.
    what: how the message starts, e.g. '--checkpoint_path=/x/model.ckpt-9'.
    advice: the sentence that ends the message (what to do).

  Raises:
    UserError: naming the mismatched and missing variables.
  """
  from slim import variables as slim_variables  # pylint: disable=import-outside-toplevel
  problems = slim_variables.checkpoint_fit_problems(checkpoint_path, variables)
  if problems:
    fail(f'{what} does not fit the model ({"; ".join(problems)}). {advice}')


def write_json_atomic(path, value):
  """Writes `value` as indented JSON to `path` atomically."""
  fileio.write_atomic(path, json.dumps(value, indent=2, sort_keys=True) + '\n')


def module_flag_values(module_name):
  """{name: value} of the flags a script defined, for a reproducibility
  record (absl's own flags left out)."""
  return {f.name: f.value
          for f in flags.FLAGS.get_flags_for_module(module_name)}


def ensure_writable_dir(path, flag_name):
  """Creates `path` if needed and checks that files can be written there.

  Raises:
    UserError: naming the flag, if it cannot be created or written.
  """
  if not path:
    fail(f'{flag_name} must be set.')
  try:
    os.makedirs(path, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
      pass
  except OSError as e:
    fail(f'{flag_name}={path} is not writable: {e.strerror or e}.')
