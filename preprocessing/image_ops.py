"""Image steps that several preprocessing modules share."""
import tensorflow as tf


def to_float(image, use_grayscale=False):
  """Casts `image` to float32 (values kept) and, if asked, to grayscale.

  Args:
    image: a `[height, width, 3]` image tensor of any numeric dtype.
    use_grayscale: whether to convert it with `tf.image.rgb_to_grayscale`.

  Returns:
    A float32 `[height, width, 3]` (or `[height, width, 1]`) tensor.
  """
  image = tf.cast(image, tf.float32)
  if use_grayscale:
    image = tf.image.rgb_to_grayscale(image)
  return image
