"""Image summaries for the preprocessing modules, safe inside tf.data.

The original preprocessing called `tf.summary.image` unconditionally (when
`add_image_summaries` was set). That only means something in a graph built
with `tf.Graph`: inside a `tf.data.Dataset.map` function (or a `tf.function`)
the summary op would land in a function graph whose collections nobody reads,
and in eager mode there is no graph collection at all. `image_summary` writes
the summary where it is useful and does nothing elsewhere, so the default
`add_image_summaries=True` works in a plain graph and in a data pipeline.
"""
import tensorflow as tf

tf1 = tf.compat.v1


def summaries_enabled():
  """Whether an image summary built now would reach the SUMMARIES collection.

  Returns:
    True in graph mode outside any function (tf.data map functions and
    `tf.function` bodies count as functions), False otherwise.
  """
  return not tf.executing_eagerly() and not tf.inside_function()


def image_summary(name, image):
  """Adds `tf.compat.v1.summary.image(name, image)` when summaries are useful.

  Args:
    name: summary name, as in the original modules ('image', 'resized_image').
    image: a 4-D `Tensor` [batch, height, width, channels].

  Returns:
    The summary `Tensor`, or None when no summary was built.
  """
  if not summaries_enabled():
    return None
  return tf1.summary.image(name, image)
