"""Summary helpers: histograms, images, scalars and sparsity, by tensor name.

Each `add_*_summary` names its summary after the tensor's op name unless a
`name` is given, optionally under a `prefix` (`prefix/name`), and adds it
to the `SUMMARIES` collection so `tf.compat.v1.summary.merge_all()` picks it
up. The plural forms apply the singular one to a list of tensors.

Tags are exactly the names asked for. (`tf.compat.v1.summary.*` derives
the tag from a uniquified name scope, so in tf_slim a histogram of the
variable `conv1/weights` showed up as `conv1/weights_1`.) The summary ops
are still created under the current name scope, so filtering the
`SUMMARIES` collection by a clone's scope keeps working.

The last group builds the summaries `train_image_classifier.py` writes:
activations and sparsity of every end point, the losses, the model
variables and the learning rate.
"""
import re
import sys

import tensorflow as tf

tf1 = tf.compat.v1

__all__ = [
    'add_end_point_summaries', 'add_histogram_summaries',
    'add_histogram_summary', 'add_image_summaries', 'add_image_summary',
    'add_learning_rate_summary', 'add_loss_summaries',
    'add_model_variable_summaries', 'add_scalar_summaries',
    'add_scalar_summary', 'add_zero_fraction_summaries',
    'add_zero_fraction_summary',
]


def _get_summary_name(tensor, name=None, prefix=None, postfix=None):
  """Returns `[prefix/]name-or-op-name[/postfix]`."""
  if not name:
    name = tensor.op.name
  if prefix:
    name = prefix + '/' + name
  if postfix:
    name = name + '/' + postfix
  return name


def _op_scope(tag):
  """A valid op-name scope for a summary tag ('eval/Recall_5' stays)."""
  return re.sub(r'[^A-Za-z0-9_.\-/]', '_', tag).strip('/') or 'summary'


def _collect(summary, collections):
  for key in (collections if collections is not None
              else [tf1.GraphKeys.SUMMARIES]):
    tf1.add_to_collection(key, summary)
  return summary


def _scalar(tag, tensor, collections=None):
  with tf1.name_scope(_op_scope(tag)):
    return _collect(tf.raw_ops.ScalarSummary(tags=tag, values=tensor),
                    collections)


def _histogram(tag, tensor, collections=None):
  with tf1.name_scope(_op_scope(tag)):
    return _collect(tf.raw_ops.HistogramSummary(tag=tag, values=tensor),
                    collections)


def _image(tag, tensor, collections=None, max_outputs=3):
  with tf1.name_scope(_op_scope(tag)):
    return _collect(tf.raw_ops.ImageSummary(tag=tag, tensor=tensor,
                                            max_images=max_outputs),
                    collections)


def _maybe_printed(make, tag, tensor, print_summary):
  """`make(tag, tensor)`, collected, and printed to stderr if asked.

  With `print_summary`, what is collected is the summary gated on printing
  `tag tensor`, so it prints whenever the merged summaries are evaluated.
  """
  if not print_summary:
    return make(tag, tensor)
  summary = make(tag, tensor, collections=[])
  print_op = tf.print(tag, tensor, output_stream=sys.stderr)
  with tf.control_dependencies([print_op]):
    summary = tf.identity(summary)
  tf1.add_to_collection(tf1.GraphKeys.SUMMARIES, summary)
  return summary


def add_histogram_summary(tensor, name=None, prefix=None):
  """Adds a histogram summary of `tensor`.

  Args:
    tensor: A numeric `Tensor` or variable.
    name: Summary name; defaults to the tensor's op name.
    prefix: Optional prefix, joined with '/'.

  Returns:
    The serialized summary `Tensor`.
  """
  return _histogram(_get_summary_name(tensor, name, prefix), tensor)


def add_image_summary(tensor, name=None, prefix=None, print_summary=False):
  """Adds an image summary of a 4-D `[batch, height, width, channels]` tensor.

  Args:
    tensor: A 4-D image `Tensor` (1, 3 or 4 channels).
    name: Summary name; defaults to the tensor's op name.
    prefix: Optional prefix, joined with '/'.
    print_summary: Whether to also print the tensor to stderr when the
      summary is evaluated.

  Returns:
    The serialized summary `Tensor`.

  Raises:
    ValueError: If `tensor` is not 4-D.
  """
  if tensor.shape.rank is not None and tensor.shape.rank != 4:
    raise ValueError('add_image_summary expects a 4-D [batch, height, width, '
                     f'channels] tensor; received shape {tensor.shape}.')
  return _maybe_printed(_image, _get_summary_name(tensor, name, prefix),
                        tensor, print_summary)


def add_scalar_summary(tensor, name=None, prefix=None, print_summary=False):
  """Adds a scalar summary of `tensor`.

  Args:
    tensor: A scalar `Tensor`.
    name: Summary name; defaults to the tensor's op name.
    prefix: Optional prefix, joined with '/'.
    print_summary: Whether to also print the value to stderr (as
      `name value`) whenever the summary is evaluated.

  Returns:
    The serialized summary `Tensor`.
  """
  return _maybe_printed(_scalar, _get_summary_name(tensor, name, prefix),
                        tensor, print_summary)


def add_zero_fraction_summary(tensor, name=None, prefix=None,
                              print_summary=False):
  """Adds a scalar summary of the fraction of zeros in `tensor` (sparsity).

  The summary is named `[prefix/]name/Fraction_of_Zero_Values`.

  Args:
    tensor: A numeric `Tensor`.
    name: Base name; defaults to the tensor's op name.
    prefix: Optional prefix, joined with '/'.
    print_summary: Whether to also print the value to stderr.

  Returns:
    The serialized summary `Tensor`.
  """
  name = _get_summary_name(tensor, name, prefix, 'Fraction_of_Zero_Values')
  return add_scalar_summary(tf.math.zero_fraction(tensor), name,
                            print_summary=print_summary)


def add_histogram_summaries(tensors, prefix=None):
  """Adds a histogram summary for each tensor; returns the summaries."""
  return [add_histogram_summary(t, prefix=prefix) for t in tensors]


def add_image_summaries(tensors, prefix=None):
  """Adds an image summary for each tensor; returns the summaries."""
  return [add_image_summary(t, prefix=prefix) for t in tensors]


def add_scalar_summaries(tensors, prefix=None, print_summary=False):
  """Adds a scalar summary for each tensor; returns the summaries."""
  return [add_scalar_summary(t, prefix=prefix, print_summary=print_summary)
          for t in tensors]


def add_zero_fraction_summaries(tensors, prefix=None):
  """Adds a zero-fraction summary for each tensor; returns the summaries."""
  return [add_zero_fraction_summary(t, prefix=prefix) for t in tensors]


# ------------------------------------------- what the training script writes
def add_end_point_summaries(end_points, activations_prefix='activations',
                            sparsity_prefix='sparsity'):
  """Adds `activations/<key>` histograms and `sparsity/<key>` scalars.

  Args:
    end_points: A dict from end-point names to tensors, as returned by a
      network function.
    activations_prefix: Prefix of the activation histograms.
    sparsity_prefix: Prefix of the zero-fraction scalars.

  Returns:
    The list of created summaries, two per end point, in key order.

  Raises:
    TypeError: If `end_points` is not a dict.
  """
  if not isinstance(end_points, dict):
    raise TypeError('`end_points` must be a dict from names to tensors; '
                    f'received {type(end_points).__name__}.')
  summaries = []
  for key, tensor in end_points.items():
    summaries.append(_histogram(f'{activations_prefix}/{key}', tensor))
    summaries.append(_scalar(f'{sparsity_prefix}/{key}',
                             tf.math.zero_fraction(tensor)))
  return summaries


def add_loss_summaries(losses=None, scope=None, prefix='losses'):
  """Adds a `losses/<op name>` scalar for every loss.

  Args:
    losses: The loss tensors; defaults to the `LOSSES` collection (filtered
      by `scope`, e.g. the first clone's scope).
    scope: Optional scope filter for the collection.
    prefix: Summary name prefix.

  Returns:
    The list of created summaries.
  """
  if losses is None:
    losses = tf1.get_collection(tf1.GraphKeys.LOSSES, scope)
  return [_scalar(f'{prefix}/{loss.op.name}', loss) for loss in losses]


def add_model_variable_summaries(variables=None, scope=None):
  """Adds a histogram named after each model variable's op name.

  Args:
    variables: The variables; defaults to the `MODEL_VARIABLES` collection
      (filtered by `scope`).
    scope: Optional scope filter for the collection.

  Returns:
    The list of created summaries.
  """
  if variables is None:
    variables = tf1.get_collection(tf1.GraphKeys.MODEL_VARIABLES, scope)
  return [_histogram(v.op.name, v) for v in variables]


def add_learning_rate_summary(learning_rate, name='learning_rate'):
  """Adds a `learning_rate` scalar summary; returns it."""
  return _scalar(name, learning_rate)
