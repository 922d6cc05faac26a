"""The TensorBoard summaries of the training graph, and their merge.

The training graph summarizes its model once the clones are built
(`model_summaries`: activations, sparsity, losses, weights and optionally
the input images) and its optimization as the optimizer chain builds it
(`learning_rate_summary`; `loss_summaries`: total loss and optionally the
gradients); `merge_summaries` merges those with the first clone's own into
the one `summary_op` that slim.learning.train writes. Each is built where
it always was, so the SUMMARIES collection keeps its order.
"""
import tensorflow as tf

import slim

tf1 = tf.compat.v1


def activation_summaries(end_points):
  """Histogram and sparsity of every end point but the input images."""
  summaries = set()
  for name, tensor in end_points.items():
    if name == 'images':
      continue
    summaries.add(tf1.summary.histogram('activations/' + name, tensor))
    summaries.add(tf1.summary.scalar('sparsity/' + name,
                                     tf.nn.zero_fraction(tensor)))
  return summaries


def model_summaries(end_points, first_clone_scope, images=False):
  """Summaries of the first clone's model: its activations, its losses and
  every model variable (and its input images with `images`).

  Args:
    end_points: the first clone's end points (with 'images').
    first_clone_scope: its name scope ('' with one clone).
    images: also summarize the input images.

  Returns:
    A set of summary tensors.
  """
  summaries = activation_summaries(end_points)
  if images:
    summaries.add(tf1.summary.image('images', end_points['images']))
  for loss in tf1.get_collection(tf1.GraphKeys.LOSSES, first_clone_scope):
    summaries.add(tf1.summary.scalar('losses/' + loss.op.name, loss))
  for variable in slim.get_model_variables():
    summaries.add(tf1.summary.histogram(variable.op.name, variable))
  return summaries


def learning_rate_summary(learning_rate):
  """The scalar summary of the learning rate (build it on the device that
  computes the rate)."""
  return tf1.summary.scalar('learning_rate', learning_rate)


def loss_summaries(total_loss, clones_gradients=None):
  """The total loss's summary, and the gradients' when `clones_gradients`
  is given.

  Args:
    total_loss: the total loss of the clones.
    clones_gradients: (gradient, variable) pairs to summarize, or None.

  Returns:
    A set of summary tensors.
  """
  summaries = {tf1.summary.scalar('total_loss', total_loss)}
  if clones_gradients is not None:
    summaries |= set(slim.learning.add_gradients_summaries(clones_gradients))
  return summaries


def merge_summaries(summaries, first_clone_scope):
  """The `summary_op` merging `summaries` and the first clone's own.

  Args:
    summaries: a set of summary tensors.
    first_clone_scope: the first clone's name scope ('' with one clone).
  """
  summaries = summaries | set(tf1.get_collection(tf1.GraphKeys.SUMMARIES,
                                                 first_clone_scope))
  return tf1.summary.merge(sorted(summaries, key=lambda s: s.name),
                           name='summary_op')
