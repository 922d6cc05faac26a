"""Training: build a train op from a loss, then run the training loop.

The two halves of TF-Slim's `learning` module:

* `create_train_op(total_loss, optimizer, ...)` computes and applies the
  gradients (with optional per-variable multipliers, norm clipping and
  gradient summaries) and returns a tensor that, when run, performs one
  update and evaluates to the total loss.
* `train(train_op, logdir, ...)` runs that op in a loop: it restores the
  latest checkpoint in `logdir` (or initializes a fresh model and calls
  `init_fn`), logs the loss, writes TensorBoard summaries and checkpoints,
  and stops after `number_of_steps`.

Example:

  total_loss = slim.losses.get_total_loss()
  optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.01)
  train_op = slim.learning.create_train_op(total_loss, optimizer)
  slim.learning.train(train_op, '/tmp/train_dir', number_of_steps=1000,
                      save_summaries_secs=300, save_interval_secs=600)

Differences from tf_slim, all on the safe side:

* The training loop is a plain `tf.compat.v1.Session` made by
  `tf.compat.v1.train.SessionManager` (no `Supervisor`); summaries and
  checkpoints are written between steps on the calling thread, so a
  checkpoint is never taken in the middle of an update.
* With `check_numerics=True` the variable updates are gated on the loss
  check, so a NaN/Inf loss raises before any variable is touched, and
  `train` never writes a checkpoint after such an error: the last good
  checkpoint stays the latest one. `train` raises it as
  `NonFiniteLossError` (an `InvalidArgumentError`, as tf_slim raised),
  which carries the step and that checkpoint's path.
* `train` stops gracefully on SIGTERM, Ctrl-C (`KeyboardInterrupt`) or a
  user `should_stop_fn`: it finishes the current step, writes a checkpoint
  at the current global step and returns.
* A resumed run that is already at `number_of_steps` runs no extra step.
* `step_callback` and `examples_per_step` let a caller report progress
  (examples/sec, progress bars) without replacing `train_step_fn`; the
  default log line adds the learning rate (`learning_rate`) and, with
  `number_of_steps`, the ETA from a smoothed step time.
* `chief_step_fn` runs the caller's work between steps on the chief, with
  the session and a way to save a checkpoint first (e.g. validation that
  keeps the best checkpoints).
* The default saver writes relative paths into the `checkpoint` state file,
  so a train directory can be moved.
"""
import collections
import contextlib
import dataclasses
import json
import os
import signal
import threading
import time
from typing import Any, Callable

from absl import logging
import tensorflow as tf

from slim import signals
from slim import variables

tf1 = tf.compat.v1

__all__ = [
    'NonFiniteLossError', 'add_gradients_summaries', 'check_loss_numerics',
    'clip_gradient_norms', 'clip_gradient_norms_fn', 'create_train_op',
    'multiply_gradients', 'session_target', 'train', 'train_step',
]


class _Default:
  """Sentinel type: "use the library default" (distinct from None)."""

  def __init__(self, name):
    self._name = name

  def __repr__(self):
    return self._name


_USE_DEFAULT = _Default('_USE_DEFAULT')
_USE_GLOBAL_STEP = _Default('_USE_GLOBAL_STEP')

# The message of the check_numerics op on the loss (tf_slim's); `train`
# recognises the failed check by it.
_LOSS_CHECK_MESSAGE = 'LossTensor is inf or nan'


class NonFiniteLossError(tf.errors.InvalidArgumentError):
  """The total loss became NaN or Inf during `train`; training stopped.

  A subclass of `tf.errors.InvalidArgumentError`, which tf_slim raised for
  the failed loss check, so code that catches that still catches this; new
  code catches this type and reads the attributes instead of the message.

  Attributes:
    step: The global step whose loss was not finite; its update was not
      applied.
    checkpoint_path: The latest checkpoint in `logdir`, written before the
      failed step (so the last good one), or None if there is none.
  """

  # The argument names are attribute names: OpError.__reduce__ (copy)
  # rebuilds an error from them.
  def __init__(self, node_def, op, message, step=None, checkpoint_path=None):
    super().__init__(node_def, op, message)
    self.step = step
    self.checkpoint_path = checkpoint_path


def check_loss_numerics(total_loss):
  """Returns `total_loss` checked for NaN and Inf.

  Evaluating the result, or any op that depends on it, fails on a non-finite
  loss; `train` raises that failure as `NonFiniteLossError`. Make the
  variable updates depend on the result (as `create_train_op` does) so that
  no variable changes in a step whose loss is not finite.

  Args:
    total_loss: A scalar float `Tensor`.

  Returns:
    A `Tensor` equal to `total_loss`.
  """
  return tf.debugging.check_numerics(total_loss, _LOSS_CHECK_MESSAGE)


# ------------------------------------------------------------ gradient tools
def _grad_values(grad):
  return grad.values if isinstance(grad, tf.IndexedSlices) else grad


def _map_grad(grad, fn):
  """Applies `fn` to a dense gradient or to the values of an IndexedSlices."""
  if isinstance(grad, tf.IndexedSlices):
    return tf.IndexedSlices(fn(grad.values), grad.indices, grad.dense_shape)
  return fn(grad)


def clip_gradient_norms(gradients_to_variables, max_norm):
  """Clips each gradient to a maximum L2 norm (per tensor, not global).

  Args:
    gradients_to_variables: A list of (gradient, variable) pairs.
    max_norm: The maximum norm of each gradient.

  Returns:
    A list of (clipped gradient, variable) pairs; `None` gradients are kept.
  """
  clipped = []
  for grad, var in gradients_to_variables:
    if grad is not None:
      grad = _map_grad(grad, lambda g: tf.clip_by_norm(g, max_norm))
    clipped.append((grad, var))
  return clipped


def clip_gradient_norms_fn(max_norm):
  """Returns a function that clips gradients with `clip_gradient_norms`."""
  def clip_norms(gradients_to_variables):
    return clip_gradient_norms(gradients_to_variables, max_norm)
  return clip_norms


def _variable_key(key):
  """Normalizes a gradient-multiplier key to a variable op name."""
  if isinstance(key, str):
    name = key
    # Accept tensor names ('conv1/weights:0') as well as op names.
    base, sep, index = name.rpartition(':')
    if sep and index.isdigit():
      name = base
    return name
  op = getattr(key, 'op', None)
  if op is not None and hasattr(op, 'name'):
    return op.name
  raise ValueError(
      '`gradient_multipliers` keys must be variables or variable op names; '
      f'received {key!r} of type {type(key).__name__}.')


def multiply_gradients(grads_and_vars, gradient_multipliers):
  """Multiplies the gradients of some variables by a constant or tensor.

  Args:
    grads_and_vars: A list of (gradient, variable) pairs, as returned by
      `optimizer.compute_gradients`.
    gradient_multipliers: A dict from variables, or variable op names (e.g.
      'conv1/weights'), to a Python scalar or scalar tensor multiplier.
      Variables absent from the dict keep their gradient.

  Returns:
    The list of (gradient, variable) pairs with multiplied gradients.

  Raises:
    ValueError: If `grads_and_vars` is not a list, `gradient_multipliers` is
      empty or not a dict, a key is neither a variable nor a name, or a
      multiplier is requested for a variable whose gradient is None.
  """
  if not isinstance(grads_and_vars, (list, tuple)) or not all(
      isinstance(p, (list, tuple)) and len(p) == 2 for p in grads_and_vars):
    raise ValueError('`grads_and_vars` must be a list of (gradient, variable) '
                     f'pairs; received {grads_and_vars!r}.')
  if not isinstance(gradient_multipliers, dict):
    raise ValueError('`gradient_multipliers` must be a dict from variables or '
                     'variable names to multipliers; received '
                     f'{type(gradient_multipliers).__name__}.')
  if not gradient_multipliers:
    raise ValueError('`gradient_multipliers` is empty; pass at least one '
                     '{variable or name: multiplier} entry.')
  by_name = {_variable_key(k): v for k, v in gradient_multipliers.items()}
  used = set()
  multiplied = []
  for grad, var in grads_and_vars:
    name = var.op.name
    if name in by_name:
      if grad is None:
        raise ValueError(f'`gradient_multipliers` has an entry for {name!r}, '
                         'whose gradient is None (it does not affect the '
                         'loss).')
      used.add(name)
      multiplier = by_name[name]
      if not isinstance(multiplier, (tf.Tensor, tf.Variable)):
        multiplier = tf.constant(multiplier, dtype=_grad_values(grad).dtype)
      grad = _map_grad(grad, lambda g, m=multiplier: g * m)
    multiplied.append((grad, var))
  unused = sorted(set(by_name) - used)
  if unused:
    logging.warning('gradient_multipliers entries match no trained variable '
                    'and are ignored: %s', ', '.join(unused))
  return multiplied


def add_gradients_summaries(grads_and_vars):
  """Adds a histogram and a norm summary for every gradient.

  Args:
    grads_and_vars: A list of (gradient, variable) pairs.

  Returns:
    The list of created summary ops (`<var>_gradient` histograms and
    `<var>_gradient_norm` scalars).
  """
  summaries = []
  for grad, var in grads_and_vars:
    if grad is None:
      logging.info('Var %s has no gradient', var.op.name)
      continue
    values = _grad_values(grad)
    summaries.append(
        tf1.summary.histogram(var.op.name + '_gradient', values))
    summaries.append(tf1.summary.scalar(var.op.name + '_gradient_norm',
                                        tf.linalg.global_norm([values])))
  return summaries


def _gate_gradients_on(grads_and_vars, dependency):
  """Makes every gradient depend on `dependency` (so updates wait for it)."""
  gated = []
  for grad, var in grads_and_vars:
    if grad is not None:
      with tf.control_dependencies([dependency]):
        grad = _map_grad(grad, tf.identity)
    gated.append((grad, var))
  return gated


# ------------------------------------------------------------------ train op
def create_train_op(total_loss, optimizer, global_step=_USE_GLOBAL_STEP,
                    update_ops=None, variables_to_train=None,
                    clip_gradient_norm=0, summarize_gradients=False,
                    gate_gradients=1, aggregation_method=None,
                    colocate_gradients_with_ops=False,
                    gradient_multipliers=None, check_numerics=True):
  """Creates an op that computes the gradients and applies them.

  Args:
    total_loss: A scalar `Tensor`, the loss to minimize.
    optimizer: A `tf.compat.v1.train.Optimizer`.
    global_step: The global step variable to increment with each update. By
      default the graph's global step (created if missing); `None` means no
      step is incremented.
    update_ops: Ops run before the loss is computed and the update applied
      (batch-norm moving averages...). Defaults to the `UPDATE_OPS`
      collection; a warning is logged if a given list omits some of it.
    variables_to_train: The variables to update. Defaults to all trainable
      variables.
    clip_gradient_norm: If > 0, each gradient is clipped to this L2 norm.
    summarize_gradients: Whether to add gradient histograms and norms.
    gate_gradients: How to gate gradient computation, see
      `tf.compat.v1.train.Optimizer` (`GATE_OP` = 1).
    aggregation_method: How gradient terms are combined, see
      `tf.compat.v1.gradients`.
    colocate_gradients_with_ops: Whether to colocate each gradient with its op.
    gradient_multipliers: A dict from variables or variable op names to
      gradient multipliers (applied before clipping).
    check_numerics: Whether to raise `tf.errors.InvalidArgumentError` when the
      loss is NaN or Inf (`train` raises it as `NonFiniteLossError`). The
      update only runs after the check passes.

  Returns:
    A `Tensor` that, when evaluated, applies one update and returns the
    total loss (its value before the update).

  Raises:
    TypeError: If `total_loss` is not a tensor.
    ValueError: If there are no variables to train or one of them is not
      trainable.
  """
  if not isinstance(total_loss, tf.Tensor):
    raise TypeError('`total_loss` must be a scalar Tensor; received '
                    f'{type(total_loss).__name__}.')
  graph = total_loss.graph
  with graph.as_default():
    if global_step is _USE_GLOBAL_STEP:
      global_step = variables.get_or_create_global_step()

    all_update_ops = set(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS))
    if update_ops is None:
      update_ops = all_update_ops
    else:
      update_ops = set(update_ops)
    if not all_update_ops.issubset(update_ops):
      logging.warning('update_ops in create_train_op does not contain all the '
                      'update_ops in GraphKeys.UPDATE_OPS')
    if update_ops:
      with tf.control_dependencies(sorted(update_ops, key=lambda o: o.name)):
        barrier = tf.no_op(name='update_barrier')
      with tf.control_dependencies([barrier]):
        total_loss = tf.identity(total_loss)

    trainable = tf1.trainable_variables()
    if variables_to_train is None:
      variables_to_train = trainable
    else:
      variables_to_train = list(variables_to_train)
      trainable_ids = {id(v) for v in trainable}
      for v in variables_to_train:
        if not (getattr(v, 'trainable', False) or id(v) in trainable_ids):
          raise ValueError(f'`variables_to_train` contains {v.op.name!r}, '
                           'which is not trainable; pass trainable '
                           'variables only.')
    if not variables_to_train:
      raise ValueError('`variables_to_train` is empty: the graph has no '
                       'trainable variables to update.')

    grads = optimizer.compute_gradients(
        total_loss, variables_to_train, gate_gradients=gate_gradients,
        aggregation_method=aggregation_method,
        colocate_gradients_with_ops=colocate_gradients_with_ops)
    if gradient_multipliers:
      with tf1.name_scope('multiply_grads'):
        grads = multiply_gradients(grads, gradient_multipliers)
    if clip_gradient_norm > 0:
      with tf1.name_scope('clip_grads'):
        grads = clip_gradient_norms(grads, clip_gradient_norm)
    if summarize_gradients:
      with tf1.name_scope('summarize_grads'):
        add_gradients_summaries(grads)

    if check_numerics:
      with tf1.name_scope('train_op'):
        total_loss = check_loss_numerics(total_loss)
      # No variable may change before the loss has been found finite.
      with tf1.name_scope('check_loss'):
        grads = _gate_gradients_on(grads, total_loss.op)

    grad_updates = optimizer.apply_gradients(grads, global_step=global_step)
    with tf1.name_scope('train_op'):
      with tf.control_dependencies([grad_updates]):
        train_op = tf.identity(total_loss, name='train_op')

    train_ops = tf1.get_collection_ref(tf1.GraphKeys.TRAIN_OP)
    if train_op not in train_ops:
      train_ops.append(train_op)
    return train_op


# ---------------------------------------------------------------- train step
def _chrome_trace(step_stats):
  """Converts RunMetadata.step_stats to Chrome trace-event JSON."""
  events = []
  for pid, dev in enumerate(step_stats.dev_stats):
    events.append({'name': 'process_name', 'ph': 'M', 'pid': pid,
                   'args': {'name': dev.device}})
    for node in dev.node_stats:
      events.append({'name': node.node_name, 'ph': 'X', 'pid': pid,
                     'tid': node.thread_id, 'ts': node.all_start_micros,
                     'dur': max(node.all_end_rel_micros, 1),
                     'args': {'label': node.timeline_label}})
  return json.dumps({'traceEvents': events})


def train_step(sess, train_op, global_step, train_step_kwargs):
  """Runs one training step, logging the loss when due.

  Args:
    sess: The current session.
    train_op: The op (usually from `create_train_op`) that applies one
      update and evaluates to the total loss.
    global_step: The global step tensor.
    train_step_kwargs: A dict of optional entries: `should_stop` and
      `should_log` (boolean tensors), `should_trace` (boolean tensor, needs
      `logdir`), `logdir`, `summary_writer` (trace metadata goes there too)
      `examples_per_step` (an int added to the log line as examples/sec),
      `learning_rate` (a scalar tensor, logged as lr) and `number_of_steps`
      with `step_timer` (a `StepTimer`; the log line then shows the ETA).

  Returns:
    A tuple `(total_loss, should_stop)`.

  Raises:
    ValueError: If `should_trace` is given without `logdir`.
  """
  options = None
  run_metadata = None
  if 'should_trace' in train_step_kwargs:
    if 'logdir' not in train_step_kwargs:
      raise ValueError('train_step_kwargs has `should_trace` but no `logdir`; '
                       'add a logdir to write the trace to.')
    if sess.run(train_step_kwargs['should_trace']):
      options = tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE)
      run_metadata = tf1.RunMetadata()

  start_time = time.time()
  total_loss = sess.run(train_op, options=options, run_metadata=run_metadata)
  time_elapsed = time.time() - start_time

  fetches = {'global_step': global_step}
  for key in ('should_log', 'should_stop'):
    if key in train_step_kwargs:
      fetches[key] = train_step_kwargs[key]
  values = sess.run(fetches)
  np_global_step = int(values['global_step'])
  timer = train_step_kwargs.get('step_timer')
  if timer is not None:
    timer.add(time_elapsed)

  if run_metadata is not None:
    trace_path = os.path.join(train_step_kwargs['logdir'],
                              'tf_trace-%d.json' % np_global_step)
    logging.info('Writing trace to %s', trace_path)
    tf.io.gfile.makedirs(train_step_kwargs['logdir'])
    with tf.io.gfile.GFile(trace_path, 'w') as f:
      f.write(_chrome_trace(run_metadata.step_stats))
    writer = train_step_kwargs.get('summary_writer')
    if writer is not None:
      writer.add_run_metadata(run_metadata, 'run_metadata-%d' % np_global_step)

  if values.get('should_log', False):
    loss_text = 'None' if total_loss is None else '%.4f' % total_loss
    examples = train_step_kwargs.get('examples_per_step')
    if examples and time_elapsed > 0:
      line = 'global step %d: loss = %s (%.3f sec/step, %.1f examples/sec)' % (
          np_global_step, loss_text, time_elapsed, examples / time_elapsed)
    else:
      line = 'global step %d: loss = %s (%.3f sec/step)' % (
          np_global_step, loss_text, time_elapsed)
    if 'learning_rate' in train_step_kwargs:
      line += ', lr = %.6g' % sess.run(train_step_kwargs['learning_rate'])
    number_of_steps = train_step_kwargs.get('number_of_steps')
    if timer is not None and number_of_steps:
      line += ', ETA ' + format_duration(
          timer.eta(number_of_steps - np_global_step))
    logging.info('%s', line)

  return total_loss, bool(values.get('should_stop', False))


class StepTimer:
  """A smoothed step time, for the ETA of the log line and progress bars.

  The first step (graph warm-up) is left out unless it is the only one.
  """

  def __init__(self, smoothing=0.1):
    self._smoothing = smoothing
    self._count = 0
    self.seconds_per_step = None

  def add(self, seconds):
    self._count += 1
    if self._count <= 2 or self.seconds_per_step is None:
      self.seconds_per_step = seconds
    else:
      self.seconds_per_step += self._smoothing * (seconds
                                                  - self.seconds_per_step)

  def eta(self, remaining_steps):
    """Seconds left for `remaining_steps`, or None before the first step."""
    if self.seconds_per_step is None:
      return None
    return max(remaining_steps, 0) * self.seconds_per_step


def format_duration(seconds):
  """'1:02:03' for 3723 seconds; '?' for None."""
  if seconds is None:
    return '?'
  seconds = int(round(seconds))
  return '%d:%02d:%02d' % (seconds // 3600, seconds // 60 % 60, seconds % 60)


# --------------------------------------------------------------------- train
def _first_in_collection(key):
  items = tf1.get_collection(key)
  return items[0] if items else None


def _op_or_default(op, key, make_default):
  """`op` as given, or for `_USE_DEFAULT` the graph's own or a new one.

  The graph's own is the first op in collection `key`, as
  tf.train.Supervisor picks it; failing that, `make_default()` builds one.
  """
  if op is not _USE_DEFAULT:
    return op
  found = _first_in_collection(key)
  return make_default() if found is None else found


def _wait_for_step(sess, global_step, step):
  while int(sess.run(global_step)) < step:
    time.sleep(1.0)


@contextlib.contextmanager
def _stop_on_sigterm():
  """Yields an Event that SIGTERM sets for the duration of `train`.

  The handler it replaced (a script's, noting the signal for its exit
  status) still hears of it.
  """
  event = threading.Event()

  def request_stop(signum, frame):
    del frame
    logging.info('Received signal %d: stopping after the current step.',
                 signum)
    event.set()

  with signals.handling({signal.SIGTERM: request_stop}, chain=True):
    yield event


def _is_loss_check_error(error):
  return (isinstance(error, tf.errors.InvalidArgumentError)
          and _LOSS_CHECK_MESSAGE in (error.message or ''))


def session_target(master):
  """The Session target for a `master` argument: `'local'`, which the
  TF-Slim README passes to evaluation_loop, means in-process (''), as ''
  does; anything else (a grpc:// target) is used as it is."""
  return '' if master == 'local' else master


def train(train_op, logdir, train_step_fn=train_step,
          train_step_kwargs=_USE_DEFAULT, log_every_n_steps=1, graph=None,
          master='', is_chief=True, global_step=None, number_of_steps=None,
          init_op=_USE_DEFAULT, init_feed_dict=None,
          local_init_op=_USE_DEFAULT, init_fn=None, ready_op=_USE_DEFAULT,
          summary_op=_USE_DEFAULT, save_summaries_secs=600,
          summary_writer=_USE_DEFAULT, startup_delay_steps=0, saver=None,
          save_interval_secs=600, sync_optimizer=None, session_config=None,
          session_wrapper=None, trace_every_n_steps=None,
          ignore_live_threads=False, should_stop_fn=None, step_callback=None,
          examples_per_step=None, ready_wait_secs=None, learning_rate=None,
          chief_step_fn=None):
  """Runs a training loop, checkpointing and summarizing into `logdir`.

  On a fresh start the model is initialized with `init_op` and then
  `init_fn(sess)` is called (e.g. to warm-start from another checkpoint).
  If `logdir` already holds a checkpoint, the latest one is restored instead
  and `init_fn` is not called. Checkpoints are saved as
  `logdir/model.ckpt-<global step>` every `save_interval_secs` and once more
  when training ends (the default saver keeps the 5 newest). Summaries go to
  an event file in `logdir` every `save_summaries_secs` (the first right
  after the first step), with a `global_step/sec` scalar.

  Training stops when the global step reaches `number_of_steps`, when the
  input raises `OutOfRangeError`, when `should_stop_fn()` returns True, on
  SIGTERM or on Ctrl-C; in every one of these cases a final checkpoint at
  the current global step is written (by the chief). Any other error
  (including a NaN/Inf loss caught by `check_numerics`) propagates without
  writing a checkpoint, so the latest checkpoint stays the last good one.

  As with tf_slim's Supervisor, the graph is finalized before training: ops
  used by `init_fn`, `train_step_fn` or `should_stop_fn` must be created
  beforehand, and a second `train` call needs a freshly built graph.

  Args:
    train_op: The tensor (from `create_train_op`) that runs one step and
      evaluates to the loss.
    logdir: Directory for checkpoints and event files; `None` disables
      checkpoints, summaries and resuming.
    train_step_fn: `fn(sess, train_op, global_step, train_step_kwargs)`
      returning `(total_loss, should_stop)`; defaults to `train_step`.
    train_step_kwargs: Dict passed to `train_step_fn`. The default holds
      `should_stop`, `should_log`, `should_trace`/`logdir`, `summary_writer`
      and `examples_per_step`.
    log_every_n_steps: Log the loss every this many global steps (0: never).
    graph: The graph to train; defaults to `train_op.graph`.
    master: The TensorFlow master ('' or 'local' for in-process, or a grpc://
      target).
    is_chief: Whether this worker initializes the model and writes
      checkpoints and summaries.
    global_step: The global step tensor; defaults to the graph's (created if
      missing).
    number_of_steps: Stop when the global step reaches this value (`None`
      trains until stopped).
    init_op: Op that initializes a fresh model; defaults to the
      `INIT_OP` collection or `global_variables_initializer()`.
    init_feed_dict: Feed dict for `init_op`.
    local_init_op: Op run on every new session; defaults to the
      `LOCAL_INIT_OP` collection or initializing local variables and
      tables. A non-chief worker runs it once the global variables are
      initialized, or once the `READY_FOR_LOCAL_INIT_OP` collection's op
      reports nothing missing, when the graph has one.
    init_fn: `fn(sess)` called after `init_op` on a fresh start only.
    ready_op: Op reporting uninitialized variables; defaults to
      `report_uninitialized_variables()`.
    summary_op: Summary op; defaults to `tf.compat.v1.summary.merge_all()`;
      `None` disables summaries.
    save_summaries_secs: Seconds between summaries (0/None: never).
    summary_writer: A `FileWriter`; defaults to one on `logdir`; `None`
      disables summaries.
    startup_delay_steps: Non-chief workers wait for the global step to reach
      this before training.
    saver: Saver for checkpoints; defaults to `Saver()` (max_to_keep=5).
    save_interval_secs: Seconds between checkpoints (0/None: only at the end).
    sync_optimizer: A `tf.compat.v1.train.SyncReplicasOptimizer` (or a list
      of them) used by `train_op`.
    session_config: A `tf.compat.v1.ConfigProto` for the session.
    session_wrapper: `fn(sess)` returning a wrapped session for
      `train_step_fn` (e.g. a debugger).
    trace_every_n_steps: Write a Chrome trace (`tf_trace-N.json`) and run
      metadata every this many steps (chief only).
    ignore_live_threads: Ignore queue-runner threads still alive at the end.
    should_stop_fn: Optional `fn()` checked before every step; returning True
      stops training gracefully (a checkpoint is written).
    step_callback: Optional `fn(global_step, total_loss, seconds)` called
      after every step with the new global step, the step's loss and its
      wall time (for examples/sec or a progress bar).
    examples_per_step: Optional number of examples per step (batch size
      times clones); the default log line then shows examples/sec.
    ready_wait_secs: Non-chief workers: how long to wait for the chief to
      initialize the model (checked every second); None waits forever.
    learning_rate: Optional scalar tensor the default log line shows as lr.
    chief_step_fn: Optional `fn(sess, global_step, save_checkpoint, last)`
      called on the chief after every step (once summaries and checkpoints
      that were due are written), and with `last=True` once training
      reached `number_of_steps` (after the final checkpoint).
      `save_checkpoint()` writes a checkpoint at the current global step
      unless the latest one is of this step, and returns its path (None
      without a saver). Not called on other workers.

  Returns:
    The loss of the last step run, or `None` if no step ran.

  Raises:
    ValueError: For inconsistent arguments (see messages).
    NonFiniteLossError: If the loss becomes NaN or Inf (an
      `InvalidArgumentError`, with the step and the last good checkpoint).
    tf.errors.DeadlineExceededError: If a non-chief worker's model was not
      initialized within `ready_wait_secs`.
  """
  sync_list = _check_train_arguments(
      train_op, logdir, summary_op=summary_op, saver=saver,
      trace_every_n_steps=trace_every_n_steps, sync_optimizer=sync_optimizer,
      startup_delay_steps=startup_delay_steps,
      number_of_steps=number_of_steps)
  if graph is None:
    graph = train_op.graph
  elif graph is not train_op.graph:
    raise ValueError('`graph` is not the graph `train_op` belongs to.')

  with graph.as_default():
    if global_step is None:
      global_step = variables.get_or_create_global_step()
    session_ops = _session_ops(init_op, ready_op, local_init_op, sync_list,
                               is_chief)
    if logdir is not None and saver is None:
      saver = _graph_saver()
    writes_events = is_chief and logdir is not None
    summary_op = _op_or_default(summary_op, tf1.GraphKeys.SUMMARY_OP,
                                tf1.summary.merge_all)
    if summary_writer is _USE_DEFAULT:
      summary_writer = tf1.summary.FileWriter(logdir) if writes_events else None
    if train_step_kwargs is _USE_DEFAULT:
      train_step_kwargs = _default_train_step_kwargs(
          global_step, number_of_steps, log_every_n_steps,
          trace_every_n_steps if is_chief else None, logdir, summary_writer,
          examples_per_step, learning_rate)
    graph.finalize()

  loop = _TrainingLoop(
      graph=graph, train_op=train_op, logdir=logdir,
      train_step_fn=train_step_fn, train_step_kwargs=train_step_kwargs,
      master=session_target(master), is_chief=is_chief,
      global_step=global_step, number_of_steps=number_of_steps,
      init_feed_dict=init_feed_dict, init_fn=init_fn,
      **session_ops._asdict(),
      summary_op=summary_op if writes_events else None,
      save_summaries_secs=save_summaries_secs, summary_writer=summary_writer,
      startup_delay_steps=startup_delay_steps,
      saver=saver if writes_events else None,
      save_interval_secs=save_interval_secs, session_config=session_config,
      session_wrapper=session_wrapper,
      ignore_live_threads=ignore_live_threads, should_stop_fn=should_stop_fn,
      step_callback=step_callback, ready_wait_secs=ready_wait_secs,
      chief_step_fn=chief_step_fn if is_chief else None)
  return _run_until_stopped(loop, summary_writer)


def _check_train_arguments(train_op, logdir, summary_op, saver,
                           trace_every_n_steps, sync_optimizer,
                           startup_delay_steps, number_of_steps):
  """Checks `train`'s arguments against each other.

  Returns:
    The SyncReplicasOptimizers `sync_optimizer` names, as a list (empty
    for none).

  Raises:
    ValueError: naming the inconsistent argument.
  """
  if train_op is None:
    raise ValueError('`train_op` cannot be None; pass the op returned by '
                     'create_train_op.')
  if logdir is None:
    if summary_op is not _USE_DEFAULT:
      raise ValueError('Cannot provide `summary_op` when logdir=None.')
    if saver is not None:
      raise ValueError('Cannot provide `saver` when logdir=None.')
    if trace_every_n_steps is not None:
      raise ValueError('Cannot provide `trace_every_n_steps` when '
                       'logdir=None.')
  if isinstance(sync_optimizer, list) and len(sync_optimizer) == 1:
    sync_optimizer = sync_optimizer[0]
  if sync_optimizer is not None:
    sync_list = (sync_optimizer if isinstance(sync_optimizer, list)
                 else [sync_optimizer])
    for opt in sync_list:
      if not isinstance(opt, tf1.train.SyncReplicasOptimizer):
        raise ValueError('`sync_optimizer` must be a SyncReplicasOptimizer '
                         f'or a list of them; received {type(opt).__name__}.')
    if startup_delay_steps > 0:
      raise ValueError('`startup_delay_steps` must be 0 when `sync_optimizer` '
                       f'is given; received {startup_delay_steps}.')
  else:
    sync_list = []
  if number_of_steps is not None and number_of_steps <= 0:
    raise ValueError('`number_of_steps` must be None or a positive number; '
                     f'received {number_of_steps}.')
  return sync_list


_SessionOps = collections.namedtuple(
    '_SessionOps',
    ['init_op', 'ready_op', 'local_init_op', 'ready_for_local_init_op',
     'init_tokens_ops', 'chief_queue_runners'])
_SessionOps.__doc__ = """The ops that make a session's model ready, as
`_TrainingLoop` takes them (see its fields)."""


def _session_ops(init_op, ready_op, local_init_op, sync_list, is_chief):
  """`train`'s init, ready and local-init ops, defaults resolved, with
  what SyncReplicasOptimizers add to them (tokens, the chief's queue
  runners)."""
  init_op = _op_or_default(init_op, tf1.GraphKeys.INIT_OP,
                           tf1.global_variables_initializer)
  ready_op = _op_or_default(ready_op, tf1.GraphKeys.READY_OP,
                            tf1.report_uninitialized_variables)
  local_init_op = _op_or_default(
      local_init_op, tf1.GraphKeys.LOCAL_INIT_OP,
      lambda: tf.group(tf1.local_variables_initializer(),
                       tf1.tables_initializer()))
  ready_for_local_init_op = None
  init_tokens_ops = []
  chief_queue_runners = []
  if sync_list:
    deps = [local_init_op] if local_init_op is not None else []
    with tf.control_dependencies(deps):
      if is_chief:
        local_init_op = tf.group(*[o.chief_init_op for o in sync_list])
      else:
        local_init_op = tf.group(*[o.local_step_init_op for o in sync_list])
    ready_for_local_init_op = tf.concat(
        [o.ready_for_local_init_op for o in sync_list], 0)
    if is_chief:
      init_tokens_ops = [o.get_init_tokens_op() for o in sync_list]
      chief_queue_runners = [o.get_chief_queue_runner() for o in sync_list]
  elif local_init_op is not None:
    # What the local init op needs first: the graph's own (as a Scaffold
    # reads it), else every global variable initialized (by the chief).
    ready_for_local_init_op = _op_or_default(
        _USE_DEFAULT, tf1.GraphKeys.READY_FOR_LOCAL_INIT_OP,
        lambda: tf1.report_uninitialized_variables(tf1.global_variables()))
  return _SessionOps(init_op, ready_op, local_init_op,
                     ready_for_local_init_op, init_tokens_ops,
                     chief_queue_runners)


def _graph_saver():
  """The graph's saver (collection SAVERS), or a new one added there."""
  saver = _first_in_collection(tf1.GraphKeys.SAVERS)
  if saver is None:
    saver = tf1.train.Saver(save_relative_paths=True)
    tf1.add_to_collection(tf1.GraphKeys.SAVERS, saver)
  return saver


def _default_train_step_kwargs(global_step, number_of_steps,
                               log_every_n_steps, trace_every_n_steps, logdir,
                               summary_writer, examples_per_step,
                               learning_rate):
  """`train_step`'s kwargs for `train`'s arguments (see `train`); a
  `trace_every_n_steps` of None (always, off the chief) traces nothing."""
  with tf1.name_scope('train_step'):
    kwargs = {}
    if number_of_steps:
      kwargs['should_stop'] = tf.greater_equal(global_step, number_of_steps)
    else:
      kwargs['should_stop'] = tf.constant(False)
    if log_every_n_steps > 0:
      kwargs['should_log'] = tf.equal(
          tf.math.floormod(global_step, log_every_n_steps), 0)
    if trace_every_n_steps is not None:
      kwargs['should_trace'] = tf.equal(
          tf.math.floormod(global_step, trace_every_n_steps), 0)
      kwargs['logdir'] = logdir
      if summary_writer is not None:
        kwargs['summary_writer'] = summary_writer
    if examples_per_step:
      kwargs['examples_per_step'] = examples_per_step
    if learning_rate is not None:
      kwargs['learning_rate'] = learning_rate
    if number_of_steps:
      kwargs['number_of_steps'] = number_of_steps
      kwargs['step_timer'] = StepTimer()
  return kwargs


def _run_until_stopped(loop, summary_writer):
  """Runs `loop` (again after an AbortedError, as tf_slim retried) with
  SIGTERM as a stop request, then closes the summary writer."""
  try:
    with _stop_on_sigterm() as stop_requested:
      while True:
        try:
          return loop.run(stop_requested)
        except tf.errors.AbortedError:
          logging.info('Retrying training!')
  finally:
    if summary_writer is not None:
      summary_writer.close()


@dataclasses.dataclass(kw_only=True, eq=False)
class _TrainingLoop:
  """One session's worth of `train`: create, run steps, save, clean up.

  `train` resolves its defaults and builds the ops, then hands them here;
  the fields mean what `train`'s arguments of the same names mean. Only a
  chief with a logdir gets a saver and a summary op, and only the chief a
  chief_step_fn (None elsewhere).
  """
  # Session set-up: where the session runs and how the model is made ready.
  graph: tf.Graph
  master: str
  is_chief: bool
  session_config: Any  # A tf.compat.v1.ConfigProto, or None.
  init_op: Any  # Operations below may be None: nothing to run.
  init_feed_dict: dict | None
  init_fn: Callable | None
  local_init_op: Any
  ready_op: Any
  ready_for_local_init_op: Any  # Tensor: what local_init_op still needs.
  ready_wait_secs: float | None  # Non-chief: None waits forever.
  init_tokens_ops: list  # SyncReplicasOptimizer tokens, run once (chief).
  chief_queue_runners: list  # SyncReplicasOptimizer aggregation (chief).
  ignore_live_threads: bool

  # Step control: what one step runs and when the loop stops.
  train_op: tf.Tensor
  global_step: Any  # The global step variable or tensor.
  train_step_fn: Callable
  train_step_kwargs: dict
  session_wrapper: Callable | None
  number_of_steps: int | None
  startup_delay_steps: int
  should_stop_fn: Callable | None
  step_callback: Callable | None
  chief_step_fn: Callable | None

  # Saving: checkpoints and summaries, into logdir.
  logdir: str | None
  saver: Any  # A tf.compat.v1.train.Saver, or None: no checkpoints.
  save_interval_secs: float | None
  summary_op: Any  # None: no summaries.
  summary_writer: Any  # A tf.compat.v1.summary.FileWriter, or None.
  save_summaries_secs: float | None

  # State of a run, set by _loop and _save/_summarize.
  last_saved_step: int | None = dataclasses.field(default=None, init=False)
  last_saved_path: str | None = dataclasses.field(default=None, init=False)
  last_save_time: float | None = dataclasses.field(default=None, init=False)
  last_summary_time: float | None = dataclasses.field(default=None,
                                                      init=False)
  last_summary_step: int | None = dataclasses.field(default=None, init=False)

  def _create_session(self):
    manager = tf1.train.SessionManager(
        local_init_op=self.local_init_op, ready_op=self.ready_op,
        ready_for_local_init_op=self.ready_for_local_init_op,
        graph=self.graph, recovery_wait_secs=1)
    if not self.is_chief:
      wait = self.ready_wait_secs
      sess = manager.wait_for_session(
          self.master, config=self.session_config,
          max_wait_secs=float('inf') if wait is None else wait)
      if sess is None:
        raise tf.errors.DeadlineExceededError(
            None, None, f'The model was not initialized within {wait:g} s '
            '(the chief initializes or restores it).')
      return sess
    state = None
    if self.saver is not None:
      state = tf1.train.get_checkpoint_state(self.logdir)
    restore_path = state.model_checkpoint_path if state else None
    if restore_path:
      logging.info('Resuming from %s (init_fn is not run).', restore_path)
      # The saver may restore a subset, so only shapes are compared here.
      problems = variables.checkpoint_fit_problems(
          restore_path,
          self.graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES),
          allow_missing=True)
      if problems:
        raise ValueError(
            f'Cannot resume from {restore_path}: it does not fit the model '
            f'({"; ".join(problems)}). Train in an empty logdir, or build '
            'the model that wrote it.')
    sess = manager.prepare_session(
        self.master, init_op=self.init_op, saver=self.saver,
        checkpoint_filename_with_path=restore_path,
        config=self.session_config, init_feed_dict=self.init_feed_dict,
        init_fn=self.init_fn)
    if restore_path:
      # Keep rotating the checkpoints of earlier runs (max_to_keep).
      self.saver.recover_last_checkpoints(
          list(state.all_model_checkpoint_paths))
    return sess

  def _save(self, sess, step):
    path = self.saver.save(sess, os.path.join(self.logdir, 'model.ckpt'),
                           global_step=step)
    logging.info('Saved checkpoint %s', path)
    self.last_saved_step = step
    self.last_saved_path = path
    self.last_save_time = time.time()
    return path

  def _save_checkpoint_fn(self, sess):
    """save_checkpoint() of chief_step_fn: the current step's checkpoint."""
    def save_checkpoint():
      if self.saver is None:
        return None
      step = int(sess.run(self.global_step))
      if step == self.last_saved_step and self.last_saved_path:
        return self.last_saved_path
      return self._save(sess, step)
    return save_checkpoint

  def _chief_step(self, sess, last):
    if self.chief_step_fn is not None:
      self.chief_step_fn(sess, int(sess.run(self.global_step)),
                         self._save_checkpoint_fn(sess), last)

  def _summarize(self, sess, step):
    now = time.time()
    summary = sess.run(self.summary_op)
    self.summary_writer.add_summary(summary, step)
    if self.last_summary_time is not None and now > self.last_summary_time:
      rate = (step - self.last_summary_step) / (now - self.last_summary_time)
      self.summary_writer.add_summary(
          tf1.Summary(value=[tf1.Summary.Value(tag='global_step/sec',
                                               simple_value=rate)]), step)
    self.summary_writer.flush()
    self.last_summary_time = now
    self.last_summary_step = step

  def _stop_requested(self, stop_event):
    if stop_event.is_set():
      return True
    return bool(self.should_stop_fn is not None and self.should_stop_fn())

  def run(self, stop_event):
    if self.is_chief and self.logdir is not None:
      tf.io.gfile.makedirs(self.logdir)
    logging.info('Starting Session.')
    sess = self._create_session()
    coord = tf1.train.Coordinator()
    threads = []
    try:
      with self.graph.as_default():
        if tf1.get_collection(tf1.GraphKeys.QUEUE_RUNNERS):
          threads = tf1.train.start_queue_runners(sess, coord=coord)
          logging.info('Starting Queues.')
        for qr in self.chief_queue_runners:
          threads.extend(qr.create_threads(sess, coord=coord, daemon=True,
                                           start=True))
      for op in self.init_tokens_ops:
        sess.run(op)
      if not self.is_chief and self.startup_delay_steps > 0:
        _wait_for_step(sess, self.global_step,
                       min(self.startup_delay_steps,
                           self.number_of_steps or float('inf')))
      if self.is_chief and self.logdir is not None:
        tf1.train.write_graph(self.graph.as_graph_def(add_shapes=True),
                              self.logdir, 'graph.pbtxt')
        if self.summary_writer is not None:
          self.summary_writer.add_graph(self.graph)
      total_loss = self._loop(sess, stop_event)
    except BaseException:
      self._shutdown(sess, coord, threads, raise_errors=False)
      raise
    self._shutdown(sess, coord, threads, raise_errors=True)
    return total_loss

  def _shutdown(self, sess, coord, threads, raise_errors):
    """Stops the queue-runner threads and closes the session.

    Queue runners fed by queues exit as soon as the stop is requested (their
    queues are closed). A thread blocked on another op, like the chief queue
    runner of a SyncReplicasOptimizer waiting for gradients, only exits when
    closing the session cancels that op; so the session is closed after a
    short grace period, before joining.
    """
    coord.request_stop()
    deadline = time.time() + 2.0
    for thread in threads:
      thread.join(max(0.0, deadline - time.time()))
    sess.close()
    try:
      coord.join(threads, stop_grace_period_secs=120,
                 ignore_live_threads=self.ignore_live_threads)
    except Exception as e:  # pylint: disable=broad-except
      if raise_errors:
        raise
      logging.warning('Ignoring an error while stopping threads: %s', e)

  def _loop(self, sess, stop_event):
    step = int(sess.run(self.global_step))
    self.last_saved_step = step
    self.last_saved_path = (tf1.train.latest_checkpoint(self.logdir)
                            if self.saver is not None else None)
    self.last_save_time = time.time()
    self.last_summary_time = None
    self.last_summary_step = step
    step_sess = self.session_wrapper(sess) if self.session_wrapper else sess
    total_loss = None
    finished = False
    try:
      if self.number_of_steps is not None and step >= self.number_of_steps:
        logging.info('Global step %d already reached number_of_steps=%d; '
                     'nothing to train.', step, self.number_of_steps)
      else:
        while not self._stop_requested(stop_event):
          start = time.time()
          total_loss, should_stop = self.train_step_fn(
              step_sess, self.train_op, self.global_step,
              self.train_step_kwargs)
          elapsed = time.time() - start
          if self.step_callback is not None:
            self.step_callback(int(sess.run(self.global_step)), total_loss,
                               elapsed)
          if should_stop:
            logging.info('Stopping Training.')
            finished = True
            break
          self._periodic(sess)
          self._chief_step(sess, last=False)
        else:
          logging.info('Stop requested: stopping training at global step %d.',
                       int(sess.run(self.global_step)))
    except tf.errors.OutOfRangeError as e:
      # The first line says why (input exhausted, a step limit reached);
      # the rest is the op's creation stack.
      lines = (e.message or '').strip().splitlines()
      logging.info('Caught OutOfRangeError. Stopping Training. %s',
                   lines[0] if lines else '')
    except KeyboardInterrupt:
      logging.info('Interrupted: stopping training and saving a checkpoint.')
    except tf.errors.InvalidArgumentError as e:
      if not _is_loss_check_error(e):
        raise
      bad_step = int(sess.run(self.global_step))
      kept = (tf1.train.latest_checkpoint(self.logdir)
              if self.logdir is not None else None)
      message = (f'Loss is NaN or Inf at global step {bad_step} '
                 '(check_numerics on the total loss); training stopped '
                 'without saving. '
                 f'Latest checkpoint kept: {kept}. Try a lower learning rate '
                 'or gradient clipping.')
      logging.error(message)
      raise NonFiniteLossError(e.node_def, e.op, message, step=bad_step,
                               checkpoint_path=kept) from e

    if self.is_chief and self.saver is not None:
      step = int(sess.run(self.global_step))
      if step != self.last_saved_step or not tf1.train.latest_checkpoint(
          self.logdir):
        logging.info('Finished training! Saving model to disk.')
        self._save(sess, step)
    if finished:
      self._summarize_last_step(sess)
      self._chief_step(sess, last=True)
    return total_loss

  def _summarize_last_step(self, sess):
    """Summarizes the final step unless its summary is written already, so
    a run shorter than save_summaries_secs shows its whole curve (its
    first and last points) in TensorBoard, not the first step alone."""
    if (self.summary_op is None or self.summary_writer is None
        or not self.save_summaries_secs):
      return
    step = int(sess.run(self.global_step))
    if step != self.last_summary_step:
      try:
        self._summarize(sess, step)
      except tf.errors.OutOfRangeError:
        pass  # The summaries read a batch, and the input is exhausted.

  def _periodic(self, sess):
    """Writes summaries and checkpoints when their interval has passed."""
    now = time.time()
    summary_due = (
        self.summary_op is not None and self.summary_writer is not None
        and self.save_summaries_secs
        and (self.last_summary_time is None
             or now - self.last_summary_time >= self.save_summaries_secs))
    save_due = (self.saver is not None and self.save_interval_secs
                and now - self.last_save_time >= self.save_interval_secs)
    if not (summary_due or save_due):
      return
    step = int(sess.run(self.global_step))
    if summary_due:
      self._summarize(sess, step)
    if save_due:
      self._save(sess, step)
