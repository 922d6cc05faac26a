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


def upscale_to_at_least(image, min_height, min_width):
  """Enlarges `image` until it is at least `min_height` x `min_width`.

  An image smaller than that on either side is resized bilinearly by the one
  factor that brings both sides to at least the minimum (aspect ratio
  kept); any other image passes through unchanged. Preprocessing that crops
  without resizing calls it so a tiny input (a 1x1 image) cannot make the
  crop fail.

  Args:
    image: a float32 `[height, width, channels]` image tensor.
    min_height: the smallest height wanted (int or int32 scalar tensor).
    min_width: the smallest width wanted (int or int32 scalar tensor).

  Returns:
    A float32 `[new_height, new_width, channels]` tensor.
  """
  shape = tf.shape(image)
  size = tf.cast(tf.maximum(shape[:2], 1), tf.float32)
  minimum = tf.cast(tf.stack([min_height, min_width]), tf.int32)
  scale = tf.reduce_max(tf.cast(minimum, tf.float32) / size)

  def upscale():
    new_size = tf.maximum(
        tf.cast(tf.math.ceil(size * scale), tf.int32), minimum)
    return tf.image.resize(image, new_size, method='bilinear')

  upscaled = tf.cond(scale > 1.0, upscale, lambda: image,
                     name='upscale_to_at_least')
  upscaled.set_shape([None, None, image.get_shape()[-1]])
  return upscaled
