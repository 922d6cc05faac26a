"""A context manager that starts and stops a session's queue runners.

Usage:

  with tf.compat.v1.Session() as sess:
    with slim.queues.QueueRunners(sess):
      sess.run(...)

The input pipelines of this project use tf.data and register no queue
runners, in which case the context does nothing; it still serves code that
uses `prefetch_queue` or other `tf.compat.v1.train.QueueRunner`s.
"""
import contextlib
import threading

import tensorflow as tf

tf1 = tf.compat.v1

__all__ = ['NestedQueueRunnerError', 'QueueRunners']

_queue_runner_lock = threading.Lock()


class NestedQueueRunnerError(Exception):
  """Raised when a `QueueRunners` context is opened inside another one."""


@contextlib.contextmanager
def QueueRunners(session):  # pylint: disable=invalid-name
  """Starts the queue runners of `session.graph`; stops them on exit.

  Args:
    session: The session to run the queue runners in.

  Yields:
    Nothing; a context in which the queues are filled.

  Raises:
    NestedQueueRunnerError: If a `QueueRunners` context is already open.
  """
  if not _queue_runner_lock.acquire(False):
    raise NestedQueueRunnerError('QueueRunners cannot be nested: a '
                                 'QueueRunners context is already open.')
  coord = tf1.train.Coordinator()
  threads = []
  try:
    for qr in session.graph.get_collection(tf1.GraphKeys.QUEUE_RUNNERS):
      threads.extend(qr.create_threads(session, coord=coord, daemon=True,
                                       start=True))
    yield
  finally:
    coord.request_stop()
    try:
      coord.join(threads, stop_grace_period_secs=120)
    except RuntimeError:
      session.close()
    finally:
      _queue_runner_lock.release()
