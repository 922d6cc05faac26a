"""A small FIFO queue that prefetches tensors on background threads.

`prefetch_queue(tensors)` creates a `FIFOQueue`, a `QueueRunner` that keeps
it filled by evaluating `tensors`, and a `fraction_of_<capacity>_full`
summary. Each `dequeue()` call site gets its own element, which is what
model_deploy relies on to give every clone a different batch:

  batch_queue = slim.prefetch_queue.prefetch_queue([images, labels])
  images, labels = batch_queue.dequeue()

The queue runner is started by `slim.learning.train`, by
`slim.evaluation` (MonitoredSession) or by `slim.queues.QueueRunners`. When
`tensors` come from a tf.data iterator, the end of the data closes the queue
and `dequeue()` then raises `OutOfRangeError`, as the iterator would.

Unlike tf_slim, tensors whose static shape is only partly known (a tf.data
batch without `drop_remainder`) are accepted without `dynamic_pad`: the
queue then holds tensors of any shape and `dequeue()` restores the known
part of the static shape.
"""
import tensorflow as tf

tf1 = tf.compat.v1

__all__ = ['prefetch_queue']


class _PrefetchQueue:
  """A queue whose `dequeue()` keeps the static shapes of its inputs."""

  def __init__(self, queue, shapes, names):
    self.queue = queue
    self._shapes = shapes
    self._names = names

  def dequeue(self, name=None):
    """Dequeues one element: a list, a dict or one tensor, as enqueued."""
    values = self.queue.dequeue(name=name)
    if self._names is not None:
      for key, shape in zip(self._names, self._shapes):
        values[key].set_shape(shape)
      return values
    if isinstance(values, tf.Tensor):  # a single tensor, as from the queue
      values.set_shape(self._shapes[0])
      return values
    values = list(values)
    for value, shape in zip(values, self._shapes):
      value.set_shape(shape)
    return values

  def __getattr__(self, attr):
    # size(), close(), name, ... come from the underlying queue.
    return getattr(self.queue, attr)


def prefetch_queue(tensors, capacity=8, num_threads=1, dynamic_pad=False,
                   shared_name=None, name=None):
  """Creates a queue prefetching `tensors` with background threads.

  Args:
    tensors: A list or dict of tensors to enqueue.
    capacity: Maximum number of elements held by the queue.
    num_threads: Number of enqueuing threads.
    dynamic_pad: Whether to use a `PaddingFIFOQueue` for tensors with
      dimensions of unknown size (dequeue then pads them within a
      `dequeue_many`).
    shared_name: Optional name to share the queue across sessions.
    name: Optional name scope for the created ops.

  Returns:
    An object with `dequeue()` (and the queue's `size()`, `close()`, ...).

  Raises:
    ValueError: If eager execution is enabled, or `tensors` is empty, or
      `capacity`/`num_threads` is not positive.
    TypeError: If `tensors` is not a list, tuple or dict of tensors.
  """
  if tf.executing_eagerly():
    raise ValueError('prefetch_queue needs graph mode (queues are not '
                     'supported eagerly); build the graph inside '
                     'tf.Graph().as_default() or use tf.data prefetch.')
  if isinstance(tensors, dict):
    names = sorted(tensors)
    tensor_list = [tensors[n] for n in names]
  elif isinstance(tensors, (list, tuple)):
    names = None
    tensor_list = list(tensors)
  else:
    raise TypeError('`tensors` must be a list or dict of tensors; received '
                    f'{type(tensors).__name__}.')
  if not tensor_list:
    raise ValueError('`tensors` is empty; pass at least one tensor.')
  for arg, value in (('capacity', capacity), ('num_threads', num_threads)):
    if not isinstance(value, int) or value < 1:
      raise ValueError(f'`{arg}` must be a positive int; received {value!r}.')

  with tf1.name_scope(name, 'prefetch_queue', tensor_list):
    tensor_list = [tf.convert_to_tensor(t) for t in tensor_list]
    if names is not None:
      tensors = dict(zip(names, tensor_list))
    else:
      tensors = tensor_list
    dtypes = [t.dtype for t in tensor_list]
    shapes = [t.shape for t in tensor_list]
    if dynamic_pad:
      queue = tf1.PaddingFIFOQueue(capacity=capacity, dtypes=dtypes,
                                   shapes=shapes, names=names,
                                   shared_name=shared_name)
    else:
      fully_defined = all(s.is_fully_defined() for s in shapes)
      queue = tf1.FIFOQueue(capacity=capacity, dtypes=dtypes,
                            shapes=shapes if fully_defined else None,
                            names=names, shared_name=shared_name)
    enqueue_op = queue.enqueue(tensors)
    tf1.train.add_queue_runner(
        tf1.train.QueueRunner(queue, [enqueue_op] * num_threads))
    tf1.summary.scalar(
        'fraction_of_%d_full' % capacity,
        tf.cast(queue.size(), tf.float32) * (1.0 / capacity))
    return _PrefetchQueue(queue, shapes, names)
