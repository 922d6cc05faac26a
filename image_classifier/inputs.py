"""The tf.data input pipeline shared by training and evaluation.

records -> DatasetDataProvider (parallel interleave over shards, parallel
decode) -> preprocessing in a parallel map -> label offset -> batch ->
prefetch. This replaces the original's queue runners (provider queue,
tf.train.batch and prefetch_queue) with one tf.data graph.
"""
import tensorflow as tf

from image_classifier import cli
from slim.data import dataset_data_provider

tf1 = tf.compat.v1


def train_provider(dataset, num_readers, batch_size, seed=None):
  """Shuffled, endlessly repeating provider with the original's buffers."""
  return dataset_data_provider.DatasetDataProvider(
      dataset, num_readers=num_readers, shuffle=True,
      common_queue_capacity=20 * batch_size,
      common_queue_min=10 * batch_size, seed=seed)


def eval_provider(dataset, batch_size):
  """One pass over the split, in file order: every example counted once."""
  return dataset_data_provider.DatasetDataProvider(
      dataset, shuffle=False, num_epochs=1,
      common_queue_capacity=2 * batch_size, common_queue_min=batch_size)


def batched(provider, preprocessing_fn, image_size, batch_size,
            labels_offset=0, num_threads=None, drop_remainder=False,
            with_keys=False):
  """(images, labels) batches as a tf.data.Dataset.

  Args:
    provider: a DatasetDataProvider.
    preprocessing_fn: fn(image, height, width) from preprocessing_factory.
    image_size: the square size images are preprocessed to.
    batch_size: examples per batch.
    labels_offset: subtracted from every label (1 for 1000-class networks
      on the 1001-class ImageNet records).
    num_threads: parallel preprocessing calls; None for AUTOTUNE.
    drop_remainder: drop a last partial batch (training wants static
      shapes; evaluation wants every example).
    with_keys: also give each example's record key ('<file>:<index>',
      see DatasetDataProvider), for reports that name examples.

  Returns:
    A dataset of (images [batch, size, size, C] float32, labels [batch]
    int64), with keys [batch] string as a third element if with_keys.
  """
  def prepare(example):
    image = preprocessing_fn(example['image'], image_size, image_size)
    label = example['label'] - labels_offset
    if with_keys:
      return image, label, example['record_key']
    return image, label

  examples = provider.tf_dataset.map(
      prepare, num_parallel_calls=num_threads or tf.data.AUTOTUNE,
      deterministic=False if drop_remainder else True)
  return examples.batch(batch_size, drop_remainder=drop_remainder).prefetch(
      tf.data.AUTOTUNE)


def iterator_get_next(batches):
  """get_next() of a one-shot iterator over `batches`, for a tf1 graph."""
  return tf1.data.make_one_shot_iterator(batches).get_next()


def fail_unreadable(error, data_files):
  """Fails with one line for a DataLossError raised while reading records.

  Args:
    error: the tf.errors.DataLossError.
    data_files: the record files read (names the corrupt one if it can).
  """
  message = dataset_data_provider.corrupt_record_message(data_files)
  cli.fail(message or f'Unreadable input data: {error.message}')
