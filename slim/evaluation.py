"""Evaluation: restore a checkpoint, run metric updates, summarize the result.

* `evaluate_once(master, checkpoint_path, logdir, ...)` restores one
  checkpoint, initializes local variables (the metric accumulators), runs
  `eval_op` `num_evals` times (or until the input is exhausted), then
  returns the value of `final_op` and writes `summary_op` into `logdir` at
  the checkpoint's global step.
* `evaluation_loop(master, checkpoint_dir, logdir, ...)` does the same for
  every new checkpoint that appears in `checkpoint_dir`.
* `checkpoints_iterator` and `wait_for_new_checkpoint` watch a directory.

Example:

  names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
      'eval/Accuracy': slim.metrics.streaming_accuracy(predictions, labels),
  })
  for name, value in names_to_values.items():
    tf.compat.v1.summary.scalar(name, value)
  slim.evaluation.evaluation_loop(
      '', checkpoint_dir, log_dir, num_evals=num_batches,
      eval_op=list(names_to_updates.values()),
      final_op=names_to_values, eval_interval_secs=600)

Differences from tf_slim:

* `initial_op` (and `init_fn` of `evaluation_loop`) run after the checkpoint
  is restored and local variables are initialized; in tf_slim they were
  passed as the scaffold's init op, which never runs when restoring.
* `num_evals=None` evaluates until the input raises `OutOfRangeError`.
* `progress_fn(batches_done, num_evals)` is called after every eval batch
  (for a progress bar, e.g. `lambda done, total: bar.update(1)`).
* `checkpoint_path` may be a directory (its latest checkpoint is used), and
  a missing checkpoint is a `ValueError` naming the path.
* `evaluation_loop` skips a checkpoint deleted by the trainer's rotation
  before it could be restored, instead of crashing.
"""
import re
import time

from absl import logging
import tensorflow as tf

from slim import learning
from slim import variables

tf1 = tf.compat.v1

__all__ = [
    'checkpoints_iterator', 'evaluate_once', 'evaluation_loop',
    'wait_for_new_checkpoint',
]


class _Default:
  """Sentinel type: "use the library default" (distinct from None)."""

  def __repr__(self):
    return '_USE_DEFAULT'


_USE_DEFAULT = _Default()


# ------------------------------------------------------- watching checkpoints
def wait_for_new_checkpoint(checkpoint_dir, last_checkpoint=None,
                            seconds_to_sleep=1, timeout=None):
  """Waits until a checkpoint other than `last_checkpoint` appears.

  Args:
    checkpoint_dir: The directory in which checkpoints are saved.
    last_checkpoint: The last checkpoint path used, or None.
    seconds_to_sleep: Seconds to sleep between polls.
    timeout: Maximum seconds to wait; None waits forever.

  Returns:
    The new checkpoint path, or None if the timeout was reached.
  """
  logging.info('Waiting for new checkpoint at %s', checkpoint_dir)
  stop_time = time.time() + timeout if timeout is not None else None
  while True:
    checkpoint_path = tf1.train.latest_checkpoint(checkpoint_dir)
    if checkpoint_path is None or checkpoint_path == last_checkpoint:
      if stop_time is not None and time.time() + seconds_to_sleep > stop_time:
        return None
      time.sleep(seconds_to_sleep)
    else:
      logging.info('Found new checkpoint at %s', checkpoint_path)
      return checkpoint_path


def checkpoints_iterator(checkpoint_dir, min_interval_secs=0, timeout=None,
                         timeout_fn=None):
  """Yields each new checkpoint path in `checkpoint_dir` as it appears.

  Only the latest checkpoint is yielded: if several are written while the
  caller is busy, the intermediate ones are skipped.

  Args:
    checkpoint_dir: The directory in which checkpoints are saved.
    min_interval_secs: Minimum seconds between two yielded checkpoints.
    timeout: Maximum seconds to wait for the next checkpoint; None waits
      forever.
    timeout_fn: Optional `fn()` called after a timeout; the iterator ends if
      it returns True and keeps waiting otherwise. Without it, a timeout
      ends the iterator.

  Yields:
    Checkpoint paths, oldest first.
  """
  checkpoint_path = None
  while True:
    new_checkpoint_path = wait_for_new_checkpoint(
        checkpoint_dir, checkpoint_path, timeout=timeout)
    if new_checkpoint_path is None:
      if not timeout_fn:
        logging.info('Timed-out waiting for a checkpoint.')
        return
      if timeout_fn():
        return
      continue
    start = time.time()
    checkpoint_path = new_checkpoint_path
    yield checkpoint_path
    time_to_next_eval = start + min_interval_secs - time.time()
    if time_to_next_eval > 0:
      time.sleep(time_to_next_eval)


# ------------------------------------------------------------------- hooks
class _InitialOpsHook(tf1.train.SessionRunHook):
  """Runs `initial_op` and `init_fn` once the checkpoint is restored."""

  def __init__(self, initial_op, feed_dict, init_fn):
    self._initial_op = initial_op
    self._feed_dict = feed_dict
    self._init_fn = init_fn

  def after_create_session(self, session, coord):
    del coord
    if self._initial_op is not None:
      session.run(self._initial_op, feed_dict=self._feed_dict)
    if self._init_fn is not None:
      self._init_fn(session)


class _SummaryAtEndHook(tf1.train.SessionRunHook):
  """Writes `summary_op` to `logdir` at the checkpoint's global step."""

  def __init__(self, logdir, summary_op, feed_dict, checkpoint_path):
    self._logdir = logdir
    self._summary_op = summary_op
    self._feed_dict = feed_dict
    self._checkpoint_path = checkpoint_path
    self._global_step = None

  def begin(self):
    self._global_step = tf1.train.get_global_step()

  def end(self, session):
    step = _checkpoint_global_step(session, self._global_step,
                                   self._checkpoint_path)
    summary = session.run(self._summary_op, feed_dict=self._feed_dict)
    writer = tf1.summary.FileWriterCache.get(self._logdir)
    writer.add_summary(summary, step)
    writer.flush()


def _checkpoint_global_step(session, global_step, checkpoint_path):
  """The global step of the evaluated checkpoint."""
  if global_step is not None:
    return int(session.run(global_step))
  reader = tf1.train.NewCheckpointReader(checkpoint_path)
  if reader.has_tensor(tf1.GraphKeys.GLOBAL_STEP):
    return int(reader.get_tensor(tf1.GraphKeys.GLOBAL_STEP))
  match = re.search(r'-(\d+)$', checkpoint_path)
  return int(match.group(1)) if match else 0


# -------------------------------------------------------------- evaluation
def _resolve_checkpoint(checkpoint_path):
  """Returns a checkpoint prefix; a directory means its latest checkpoint."""
  if not isinstance(checkpoint_path, str) or not checkpoint_path:
    raise ValueError('`checkpoint_path` must be a checkpoint path or a '
                     f'directory holding checkpoints; received '
                     f'{checkpoint_path!r}.')
  if tf.io.gfile.isdir(checkpoint_path) and not (
      variables.is_checkpoint_prefix(checkpoint_path)):  # See its reader.
    latest = tf1.train.latest_checkpoint(checkpoint_path)
    if latest is None:
      raise ValueError(f'`checkpoint_path` {checkpoint_path!r} is a directory '
                       'without checkpoints; train first or pass a '
                       'checkpoint file prefix (e.g. model.ckpt-1000).')
    return latest
  if not _checkpoint_exists(checkpoint_path):
    raise ValueError(f'`checkpoint_path` {checkpoint_path!r} does not exist; '
                     'pass a checkpoint prefix such as dir/model.ckpt-1000 '
                     '(without .index) or a directory.')
  return checkpoint_path


def _checkpoint_exists(path):
  return (tf.io.gfile.exists(path + '.index')
          or (tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path)))


def _as_fetches(ops):
  """Fetches that Session.run accepts: dict views and other iterables (the
  README's `names_to_updates.values()`) become lists."""
  if ops is None or isinstance(ops, (list, tuple, dict, tf.Tensor,
                                     tf.Operation, tf.Variable)):
    return ops
  return list(ops)


def _evaluate(checkpoint_path, master, scaffold, num_evals, eval_op,
              eval_op_feed_dict, final_op, final_op_feed_dict, hooks, config,
              progress_fn):
  """Restores one checkpoint and runs the evaluation in a MonitoredSession."""
  logging.info('Starting evaluation at %s',
               time.strftime('%Y-%m-%d-%H:%M:%S', time.gmtime()))
  eval_op, final_op = _as_fetches(eval_op), _as_fetches(final_op)
  final_ops_hook = tf1.train.FinalOpsHook(final_op, final_op_feed_dict)
  all_hooks = list(hooks) + [final_ops_hook]
  session_creator = tf1.train.ChiefSessionCreator(
      scaffold=scaffold, checkpoint_filename_with_path=checkpoint_path,
      master=learning.session_target(master), config=config)
  done = 0
  log_every = max(1, (num_evals or 0) // 10)
  with tf1.train.MonitoredSession(session_creator=session_creator,
                                  hooks=all_hooks) as session:
    if eval_op is not None:
      while ((num_evals is None or done < num_evals)
             and not session.should_stop()):
        try:
          session.run(eval_op, feed_dict=eval_op_feed_dict)
        except tf.errors.OutOfRangeError:
          logging.info('Input exhausted after %d eval batches.', done)
          break
        done += 1
        if progress_fn is not None:
          progress_fn(done, num_evals)
        if num_evals is None:
          if done % 100 == 0:
            logging.info('Evaluation [%d]', done)
        elif done % log_every == 0 or done == num_evals:
          logging.info('Evaluation [%d/%d]', done, num_evals)
  logging.info('Finished evaluation at %s',
               time.strftime('%Y-%m-%d-%H:%M:%S', time.gmtime()))
  return final_ops_hook.final_ops_values


def _check_num_evals(num_evals):
  if num_evals is not None and (isinstance(num_evals, bool) or
                                not isinstance(num_evals, int) or
                                num_evals < 0):
    raise ValueError('`num_evals` must be a non-negative int, or None to '
                     f'evaluate until the input is exhausted; received '
                     f'{num_evals!r}.')


def _build(logdir, summary_op, summary_op_feed_dict, variables_to_restore,
           initial_op, initial_op_feed_dict, init_fn, hooks):
  """Builds the scaffold and the hooks shared by every evaluation."""
  if summary_op is _USE_DEFAULT:
    summary_op = tf1.summary.merge_all()
  saver = None
  if variables_to_restore is not None:
    saver = tf1.train.Saver(variables_to_restore)
  scaffold = tf1.train.Scaffold(saver=saver)
  restored = (tf1.global_variables() if variables_to_restore is None
              else variables_to_restore)
  base_hooks = []
  if initial_op is not None or init_fn is not None:
    base_hooks.append(
        _InitialOpsHook(initial_op, initial_op_feed_dict, init_fn))
  base_hooks.extend(hooks or [])

  def hooks_for(checkpoint_path):
    checkpoint_hooks = list(base_hooks)
    if summary_op is not None and logdir:
      checkpoint_hooks.append(_SummaryAtEndHook(
          logdir, summary_op, summary_op_feed_dict, checkpoint_path))
    return checkpoint_hooks

  def check_fits(checkpoint_path):
    problems = variables.checkpoint_fit_problems(checkpoint_path, restored)
    if problems:
      raise ValueError(
          f'Checkpoint {checkpoint_path} does not fit the model '
          f'({"; ".join(problems)}); pass `variables_to_restore` to restore '
          'only some variables.')

  return scaffold, hooks_for, check_fits


def evaluate_once(master, checkpoint_path, logdir, num_evals=1,
                  initial_op=None, initial_op_feed_dict=None, eval_op=None,
                  eval_op_feed_dict=None, final_op=None,
                  final_op_feed_dict=None, summary_op=_USE_DEFAULT,
                  summary_op_feed_dict=None, variables_to_restore=None,
                  session_config=None, hooks=None, progress_fn=None):
  """Evaluates the model in the default graph on one checkpoint.

  Args:
    master: The TensorFlow master ('' or 'local' for in-process).
    checkpoint_path: A checkpoint prefix (`dir/model.ckpt-1000`), or a
      directory whose latest checkpoint is used.
    logdir: Where summaries are written; None or '' writes none.
    num_evals: Number of times `eval_op` is run; None runs it until the
      input raises `OutOfRangeError`.
    initial_op: Optional op run once after restoring, before evaluating.
    initial_op_feed_dict: Feed dict for `initial_op`.
    eval_op: Op (or list/dict of ops) run `num_evals` times, usually the
      metric update ops.
    eval_op_feed_dict: Feed dict for `eval_op`.
    final_op: Tensor (or list/dict of tensors) evaluated once at the end.
    final_op_feed_dict: Feed dict for `final_op`.
    summary_op: Summary op written at the end; defaults to
      `tf.compat.v1.summary.merge_all()`; None writes no summary.
    summary_op_feed_dict: Feed dict for `summary_op`.
    variables_to_restore: A list or dict of variables to restore (as for
      `tf.compat.v1.train.Saver`); defaults to all global variables.
    session_config: A `tf.compat.v1.ConfigProto`.
    hooks: Extra `tf.compat.v1.train.SessionRunHook`s.
    progress_fn: Optional `fn(batches_done, num_evals)` called after every
      run of `eval_op`.

  Returns:
    The value of `final_op` (None if `final_op` is None).

  Raises:
    ValueError: If the checkpoint does not exist, does not fit the variables
      (names the variables), or `num_evals` is invalid.
  """
  _check_num_evals(num_evals)
  checkpoint_path = _resolve_checkpoint(checkpoint_path)
  scaffold, hooks_for, check_fits = _build(
      logdir, summary_op, summary_op_feed_dict, variables_to_restore,
      initial_op, initial_op_feed_dict, None, hooks)
  check_fits(checkpoint_path)
  return _evaluate(checkpoint_path, master, scaffold, num_evals, eval_op,
                   eval_op_feed_dict, final_op, final_op_feed_dict,
                   hooks_for(checkpoint_path), session_config, progress_fn)


def evaluation_loop(master, checkpoint_dir, logdir, num_evals=1,
                    initial_op=None, initial_op_feed_dict=None, init_fn=None,
                    eval_op=None, eval_op_feed_dict=None, final_op=None,
                    final_op_feed_dict=None, summary_op=_USE_DEFAULT,
                    summary_op_feed_dict=None, variables_to_restore=None,
                    eval_interval_secs=60, max_number_of_evaluations=None,
                    session_config=None, timeout=None, timeout_fn=None,
                    hooks=None, progress_fn=None):
  """Evaluates every new checkpoint in `checkpoint_dir`, as it appears.

  Args:
    master: The TensorFlow master ('' or 'local' for in-process).
    checkpoint_dir: The directory the trainer writes checkpoints to.
    logdir: Where summaries are written.
    num_evals: Number of times `eval_op` is run per checkpoint; None runs it
      until the input raises `OutOfRangeError`.
    initial_op: Optional op run after each restore, before evaluating.
    initial_op_feed_dict: Feed dict for `initial_op`.
    init_fn: Optional `fn(session)` called after each restore (after
      `initial_op`).
    eval_op: Op (or list/dict of ops) run `num_evals` times.
    eval_op_feed_dict: Feed dict for `eval_op`.
    final_op: Tensor (or list/dict of tensors) evaluated after each pass.
    final_op_feed_dict: Feed dict for `final_op`.
    summary_op: Summary op written after each pass; defaults to
      `tf.compat.v1.summary.merge_all()`; None writes no summary.
    summary_op_feed_dict: Feed dict for `summary_op`.
    variables_to_restore: A list or dict of variables to restore; defaults to
      all global variables.
    eval_interval_secs: Minimum seconds between two evaluations.
    max_number_of_evaluations: Stop after this many evaluations; None never
      stops on its own.
    session_config: A `tf.compat.v1.ConfigProto`.
    timeout: Maximum seconds to wait for a new checkpoint; None waits
      forever.
    timeout_fn: Optional `fn()` called after a timeout; the loop ends if it
      returns True and keeps waiting otherwise.
    hooks: Extra `tf.compat.v1.train.SessionRunHook`s.
    progress_fn: Optional `fn(batches_done, num_evals)` called after every
      run of `eval_op`.

  Returns:
    The value of `final_op` in the last evaluation (None if none ran).

  Raises:
    ValueError: If `num_evals` or `max_number_of_evaluations` is invalid, or
      a checkpoint does not fit the variables (names the variables).
  """
  _check_num_evals(num_evals)
  if max_number_of_evaluations is not None and max_number_of_evaluations < 1:
    raise ValueError('`max_number_of_evaluations` must be None or >= 1; '
                     f'received {max_number_of_evaluations!r}.')
  scaffold, hooks_for, check_fits = _build(
      logdir, summary_op, summary_op_feed_dict, variables_to_restore,
      initial_op, initial_op_feed_dict, init_fn, hooks)
  final_values = None
  num_evaluations = 0
  for checkpoint_path in checkpoints_iterator(
      checkpoint_dir, min_interval_secs=eval_interval_secs, timeout=timeout,
      timeout_fn=timeout_fn):
    try:
      check_fits(checkpoint_path)
      final_values = _evaluate(
          checkpoint_path, master, scaffold, num_evals, eval_op,
          eval_op_feed_dict, final_op, final_op_feed_dict,
          hooks_for(checkpoint_path), session_config, progress_fn)
    except tf.errors.NotFoundError:
      if _checkpoint_exists(checkpoint_path):
        raise
      logging.warning('Checkpoint %s was deleted before it could be '
                      'evaluated; skipping it.', checkpoint_path)
      continue
    num_evaluations += 1
    if (max_number_of_evaluations is not None
        and num_evaluations >= max_number_of_evaluations):
      break
  return final_values
