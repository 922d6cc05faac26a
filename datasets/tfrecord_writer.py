"""Parallel, deterministic, crash-safe writing of sharded TFRecord files.

Every converter describes its output as shards, `(path, tasks)`, plus two
functions: `encode_fn(task)`, the expensive per-image work (decoding,
checking, PNG/JPEG encoding, drawing), and `make_example(result)`, which turns
its result into a `tf.train.Example`. `write_shards` runs `encode_fn` in a
pool of worker processes and writes the results in task order from this
process, so the output bytes do not depend on the number of workers or on
their scheduling, and serializes every Example with `deterministic=True`
(its feature map in key order, not in the process's hash order): a seed
fully determines a dataset, byte for byte, from one run to the next.

Workers are spawned (not forked from a process that has TensorFlow's threads)
and only import the module holding `encode_fn`, not the main script; keep
such modules free of TensorFlow (see `datasets/image_coding.py`). Results
travel back in a bounded window of chunks, so memory stays flat on
ImageNet-sized inputs.

Crash safety: on a local disk each shard is written to a hidden
`.<name>.incomplete` file and all shards are renamed to their final names
only after the last one is closed. Elsewhere (`gs://`, `s3://`, ..., through
tf.io.gfile), where a rename is a copy and no atomic publication, each shard
is written under its final name (an object store publishes an object whole
when it is closed; an old one is removed first) and a failed run removes
the shards it wrote. Either way
converters write their labels/metadata file last, after every shard, as the
mark of a finished dataset, and remove it first when they start over: a
conversion cut short is never taken for a finished one.
"""
import collections
import contextlib
import errno
import glob
import multiprocessing
import os
import signal
import sys
import time
import types
import typing

from absl import logging
import tensorflow as tf
import tqdm

from datasets.errors import DatasetError
from datasets.image_coding import Skipped
from image_classifier import fileio
from slim import signals

INCOMPLETE_SUFFIX = '.incomplete'
# Results of at most this many chunks per worker wait in memory at a time.
_CHUNKS_IN_FLIGHT_PER_WORKER = 4
# Below this many tasks per worker, starting processes costs more than it
# saves (used when num_workers is None).
_MIN_TASKS_PER_WORKER = 2000


class WriteStats(typing.NamedTuple):
  """What `write_shards` wrote."""
  paths: list
  counts: list
  skipped: list
  seconds: float

  @property
  def num_written(self):
    return sum(self.counts)

  @property
  def images_per_second(self):
    return self.num_written / max(self.seconds, 1e-9)


def log_finished(what, all_stats):
  """Logs the end of a conversion: the images of every split and the rate.

  Args:
    what: e.g. 'converting MNIST', as in 'Finished converting MNIST: ...'.
    all_stats: the `WriteStats` of each `write_shards` call.
  """
  written = sum(stats.num_written for stats in all_stats)
  seconds = sum(stats.seconds for stats in all_stats)
  logging.info('Finished %s: %d images in %.1f s (%.0f images/sec).', what,
               written, seconds, written / max(seconds, 1e-9))


def available_cpus():
  """Returns the number of CPUs this process may run on."""
  if hasattr(os, 'sched_getaffinity'):
    return max(1, len(os.sched_getaffinity(0)))
  return max(1, os.cpu_count() or 1)


def resolve_num_workers(num_workers, num_tasks):
  """Returns the number of worker processes to use.

  Args:
    num_workers: None for automatic, 0 or 1 for no worker processes (all work
      in this process), or a positive count.
    num_tasks: how many tasks there are.

  Returns:
    A positive int; 1 means no worker processes.

  Raises:
    DatasetError: `num_workers` is negative.
  """
  if num_workers is None:
    return max(1, min(available_cpus(), num_tasks // _MIN_TASKS_PER_WORKER))
  if num_workers < 0:
    raise DatasetError('--num_workers must be >= 0 (0 or 1: no worker '
                       'processes); received %d' % num_workers)
  return max(1, num_workers)


def incomplete_path(path):
  """Returns the name under which `path` is written: a hidden temporary
  name on a local disk, `path` itself elsewhere (see the module doc)."""
  if not fileio.is_local(path):
    return path
  directory, name = os.path.split(path)
  return os.path.join(directory, '.' + name + INCOMPLETE_SUFFIX)


def shard_filenames(dataset_dir, name, split_name, num_shards):
  """Returns the shard paths `<name>_<split>_<NNNNN>-of-<MMMMM>.tfrecord`.

  This is the layout of the original flowers converter, also used by the
  custom and shapes converters.
  """
  return [os.path.join(dataset_dir, '%s_%s_%05d-of-%05d.tfrecord'
                       % (name, split_name, shard, num_shards))
          for shard in range(num_shards)]


def remove_stale_shards(dataset_dir, name, split_name, keep):
  """Deletes `<name>_<split>_*-of-*.tfrecord` files not in `keep`.

  A rerun with another shard count would otherwise leave old shards that the
  dataset's file pattern still matches.

  Args:
    dataset_dir: the dataset folder.
    name: the dataset name.
    split_name: the split name.
    keep: the paths just written.
  """
  pattern = '%s_%s_*-of-*.tfrecord' % (name, split_name)
  if fileio.is_local(dataset_dir):
    keep = {os.path.abspath(path) for path in keep}
    found = glob.glob(os.path.join(glob.escape(dataset_dir), pattern))
    stale = [path for path in found if os.path.abspath(path) not in keep]
  else:
    stale = sorted(set(tf.io.gfile.glob(os.path.join(dataset_dir, pattern)))
                   - set(keep))
  for path in stale:
    tf.io.gfile.remove(path)


def shard_ranges(num_items, num_shards):
  """Splits range(num_items) into `num_shards` contiguous (start, end) pairs.

  Sizes differ by at most one, larger shards first (like numpy.array_split).
  """
  base, extra = divmod(num_items, num_shards)
  ranges, start = [], 0
  for index in range(num_shards):
    end = start + base + (1 if index < extra else 0)
    ranges.append((start, end))
    start = end
  return ranges


def _chunks(tasks, chunk_size):
  for start in range(0, len(tasks), chunk_size):
    yield tasks[start:start + chunk_size]


@contextlib.contextmanager
def _without_main_module():
  """Hides the `__main__` module while worker processes are spawned.

  A spawned worker normally re-imports the parent's main script, and with it
  TensorFlow and whatever else the script imports (seconds per worker, and
  hundreds of MB). The encode functions live in light library modules, so
  workers need none of that: while they start, `__main__` is a bare module
  with no file to re-import. (Encode functions therefore cannot be defined in
  `__main__` itself.)
  """
  main = sys.modules['__main__']
  sys.modules['__main__'] = types.ModuleType('__main__')
  try:
    yield
  finally:
    sys.modules['__main__'] = main


def _results(tasks, encode_fn, num_workers, chunk_size):
  """Yields encode_fn(task) for every task, in order."""
  if num_workers <= 1:
    for task in tasks:
      yield encode_fn(task)
    return
  context = multiprocessing.get_context('spawn')
  with _without_main_module():
    # Ctrl-C is handled once, here; workers ignore it (no traceback each).
    pool = context.Pool(num_workers, initializer=signals.ignore,
                        initargs=(signal.SIGINT,))
  with pool:
    pending = collections.deque()
    chunks = _chunks(tasks, chunk_size)
    limit = num_workers * _CHUNKS_IN_FLIGHT_PER_WORKER
    for chunk in chunks:
      pending.append(pool.map_async(encode_fn, chunk, chunksize=len(chunk)))
      if len(pending) >= limit:
        yield from pending.popleft().get()
    while pending:
      yield from pending.popleft().get()


def _disk_full(path, error):
  return DatasetError('disk full while writing %s (%s); free some space and '
                      'rerun' % (path, error))


def write_shards(shards, encode_fn, make_example, num_workers=None,
                 chunk_size=64, desc='Converting', on_skipped=None):
  """Writes sharded TFRecord files from per-image tasks.

  Args:
    shards: a sequence of (output_path, tasks); every shard file is written,
      even one with no tasks.
    encode_fn: picklable module-level function task -> result, or a
      `Skipped`; runs in worker processes.
    make_example: function result -> `tf.train.Example`; runs here.
    num_workers: worker processes (None: automatic; 0 or 1: none).
    chunk_size: tasks sent to a worker at a time.
    desc: label of the progress bar.
    on_skipped: optional function called with each `Skipped` result as it
      comes; raising there stops the writing with nothing renamed (for a
      converter to which every image matters).

  Returns:
    A `WriteStats`: final paths, records written per shard, the `Skipped`
    results, and the elapsed seconds.

  Raises:
    DatasetError: the disk is full.
  """
  shards = [(path, list(tasks)) for path, tasks in shards]
  all_tasks = [task for _, tasks in shards for task in tasks]
  workers = resolve_num_workers(num_workers, len(all_tasks))
  start_time = time.time()
  counts, skipped, temp_paths = [], [], []
  results = _results(all_tasks, encode_fn, workers, chunk_size)
  try:
    with tqdm.tqdm(total=len(all_tasks), desc=desc, unit='img',
                   disable=None, leave=False) as bar:
      for path, tasks in shards:
        temp_path = incomplete_path(path)
        temp_paths.append(temp_path)
        if temp_path == path and tf.io.gfile.exists(path):
          tf.io.gfile.remove(path)  # (ram:// would append to it.)
        count = 0
        try:
          with tf.io.TFRecordWriter(temp_path) as writer:
            for _ in range(len(tasks)):
              result = next(results)
              bar.update(1)
              if isinstance(result, Skipped):
                if on_skipped:
                  on_skipped(result)
                skipped.append(result)
                continue
              writer.write(make_example(result).SerializeToString(
                  deterministic=True))
              count += 1
        except tf.errors.ResourceExhaustedError as e:
          raise _disk_full(path, e.message) from None
        counts.append(count)
    # All shards are complete: only now do they get their final names.
    for (path, _), temp_path in zip(shards, temp_paths):
      if temp_path != path:
        os.replace(temp_path, path)
    temp_paths = []
  except OSError as e:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
      raise _disk_full(e.filename or '', e.strerror) from None
    raise
  finally:
    results.close()  # Stops the worker pool if we leave early.
    for temp_path in temp_paths:
      if tf.io.gfile.exists(temp_path):
        tf.io.gfile.remove(temp_path)
  stats = WriteStats([path for path, _ in shards], counts, skipped,
                     time.time() - start_time)
  logging.info('Wrote %d records in %d files in %.1f s: %.0f images/sec '
               '(%s).', stats.num_written, len(shards), stats.seconds,
               stats.images_per_second,
               '%d worker processes' % workers if workers > 1
               else 'no worker processes')
  return stats
