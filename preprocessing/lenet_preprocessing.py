"""Provides utilities for preprocessing images for the LeNet network.

Same computation as slim's original `preprocessing/lenet_preprocessing.py`:
cast to float, center-crop or zero-pad to the output size, then
`(image - 128) / 128`. Training and evaluation are identical. Differences:
`is_training` defaults to False (it was required and unused), and the output
is `[output_height, output_width]` (the original passed width and height to
`resize_image_with_crop_or_pad` the other way round, which only mattered for
non-square outputs).
"""
import tensorflow as tf

from preprocessing import image_ops

tf1 = tf.compat.v1


def preprocess_image(image,
                     output_height,
                     output_width,
                     is_training=False,
                     use_grayscale=False):
  """Preprocesses the given image.

  Args:
    image: A `Tensor` representing an image of arbitrary size.
    output_height: The height of the image after preprocessing.
    output_width: The width of the image after preprocessing.
    is_training: `True` if we're preprocessing the image for training and
      `False` otherwise. Unused: LeNet preprocessing does not distort.
    use_grayscale: Whether to convert the image from RGB to grayscale.

  Returns:
    A preprocessed image.
  """
  del is_training  # Unused argument.
  image = image_ops.to_float(image, use_grayscale)
  image = tf1.image.resize_image_with_crop_or_pad(
      image, output_height, output_width)
  image = tf.subtract(image, 128.0)
  image = tf.math.divide(image, 128.0)
  return image
