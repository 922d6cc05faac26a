"""What training and evaluation need to read a multi-label dataset.

A multi-label dataset (`--dataset_name=shapes_multi`, or `custom` converted
from a CSV) stores in every record `image/class/label`, the sorted list of
the image's class ids (possibly empty), and `image/class/text`, their names.
Its `slim.dataset.Dataset` says so:

    dataset = dataset_factory.get_dataset(name, split, dataset_dir)
    dataset.multi_label                 # True
    # or, without building the Dataset:
    dataset_factory.get_descriptor(name).is_multi_label(dataset_dir)

and its item `label` is a 1-D int64 tensor of varying length. Variable
lengths do not batch; turn each example's list into a fixed [num_classes]
vector first, in the per-example map before batching:

    image, labels = provider.get(['image', 'label'])
    targets = multi_label.multi_hot(labels, num_classes, labels_offset)

and train against it with a sigmoid cross-entropy per class.
"""
import tensorflow as tf

__all__ = ['multi_hot']


def multi_hot(labels, num_classes, labels_offset=0, dtype=tf.float32):
  """The multi-hot vector of one example's class ids.

  Args:
    labels: a 1-D integer tensor of class ids (any length, zero included;
      repeats count once), as the item `label` of a multi-label dataset.
    num_classes: the length of the vector (the classes the network predicts).
    labels_offset: subtracted from every id first, as `--labels_offset` does
      for single labels; ids that fall outside [0, num_classes) then are
      dropped.
    dtype: the vector's dtype.

  Returns:
    A [num_classes] tensor: 1 at each class of `labels`, 0 elsewhere.
  """
  labels = tf.convert_to_tensor(labels)
  if labels.shape.rank is not None and labels.shape.rank != 1:
    raise ValueError(f'labels must be a 1-D tensor of class ids (one '
                     f'example); received shape {labels.shape}.')
  # one_hot gives an all-zero row for an id out of range.
  rows = tf.one_hot(labels - labels_offset, num_classes, dtype=dtype)
  return tf.minimum(tf.reduce_sum(rows, axis=0), tf.ones([], dtype))
