"""Provides utilities to preprocess images in CIFAR-10.

Same functions, arguments and defaults as slim's original
`preprocessing/cifarnet_preprocessing.py`. Two fixes, both invisible for the
square, RGB inputs the original was used with:

- the original eval path called `resize_image_with_crop_or_pad(image,
  output_width, output_height)` (height and width swapped); here the output is
  `[output_height, output_width]`;
- the original train path cropped `[output_height, output_width, 3]`, which
  failed with `use_grayscale=True`; here the crop keeps the image's channels.

One extension: the original train path failed on an image smaller than the
output even once padded (a 1x1 image); such an image is first enlarged
bilinearly (aspect ratio kept) to at least the output size minus the padding.
"""
import tensorflow as tf

from preprocessing import image_ops
from preprocessing import summaries

tf1 = tf.compat.v1

_PADDING = 4


def preprocess_for_train(image,
                         output_height,
                         output_width,
                         padding=_PADDING,
                         add_image_summaries=True,
                         use_grayscale=False):
  """Preprocesses the given image for training.

  Enlarges an image smaller than `[output_height - 2 * padding,
  output_width - 2 * padding]` (see `image_ops.upscale_to_at_least`), pads
  it by `padding` pixels on each side, takes a random
  `[output_height, output_width]` crop, flips it left/right at random,
  distorts brightness (max delta 63) and contrast (factor in [0.2, 1.8]) and
  standardizes it with `tf.image.per_image_standardization`.

  Args:
    image: A `Tensor` representing an image of arbitrary size.
    output_height: The height of the image after preprocessing.
    output_width: The width of the image after preprocessing.
    padding: The amount of padding before and after each dimension of the
      image.
    add_image_summaries: Enable image summaries.
    use_grayscale: Whether to convert the image from RGB to grayscale.

  Returns:
    A preprocessed image.
  """
  if add_image_summaries:
    summaries.image_summary('image', tf.expand_dims(image, 0))

  image = image_ops.to_float(image, use_grayscale)
  # An image smaller than the crop even once padded (down to 1x1) is
  # enlarged first, so that the crop always fits.
  image = image_ops.upscale_to_at_least(
      image, tf.maximum(output_height - 2 * padding, 1),
      tf.maximum(output_width - 2 * padding, 1))
  if padding > 0:
    image = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
  # Randomly crop a [height, width] section of the image.
  channels = tf.shape(image)[2]
  distorted_image = tf1.random_crop(
      image, tf.stack([output_height, output_width, channels]))
  distorted_image.set_shape(
      [output_height, output_width, image.get_shape()[2]])

  # Randomly flip the image horizontally.
  distorted_image = tf1.image.random_flip_left_right(distorted_image)

  if add_image_summaries:
    summaries.image_summary('distorted_image',
                            tf.expand_dims(distorted_image, 0))

  # Because these operations are not commutative, consider randomizing
  # the order their operation.
  distorted_image = tf1.image.random_brightness(distorted_image, max_delta=63)
  distorted_image = tf1.image.random_contrast(
      distorted_image, lower=0.2, upper=1.8)
  # Subtract off the mean and divide by the variance of the pixels.
  return tf.image.per_image_standardization(distorted_image)


def preprocess_for_eval(image,
                        output_height,
                        output_width,
                        add_image_summaries=True,
                        use_grayscale=False):
  """Preprocesses the given image for evaluation.

  Center-crops or zero-pads the image to `[output_height, output_width]` and
  standardizes it with `tf.image.per_image_standardization`.

  Args:
    image: A `Tensor` representing an image of arbitrary size.
    output_height: The height of the image after preprocessing.
    output_width: The width of the image after preprocessing.
    add_image_summaries: Enable image summaries.
    use_grayscale: Whether to convert the image from RGB to grayscale.

  Returns:
    A preprocessed image.
  """
  if add_image_summaries:
    summaries.image_summary('image', tf.expand_dims(image, 0))
  image = image_ops.to_float(image, use_grayscale)

  # Resize and crop if needed.
  resized_image = tf1.image.resize_image_with_crop_or_pad(
      image, output_height, output_width)
  if add_image_summaries:
    summaries.image_summary('resized_image', tf.expand_dims(resized_image, 0))

  # Subtract off the mean and divide by the variance of the pixels.
  return tf.image.per_image_standardization(resized_image)


def preprocess_image(image,
                     output_height,
                     output_width,
                     is_training=False,
                     add_image_summaries=True,
                     use_grayscale=False):
  """Preprocesses the given image.

  Args:
    image: A `Tensor` representing an image of arbitrary size.
    output_height: The height of the image after preprocessing.
    output_width: The width of the image after preprocessing.
    is_training: `True` if we're preprocessing the image for training and
      `False` otherwise.
    add_image_summaries: Enable image summaries.
    use_grayscale: Whether to convert the image from RGB to grayscale.

  Returns:
    A preprocessed image.
  """
  if is_training:
    return preprocess_for_train(
        image,
        output_height,
        output_width,
        add_image_summaries=add_image_summaries,
        use_grayscale=use_grayscale)
  else:
    return preprocess_for_eval(
        image,
        output_height,
        output_width,
        add_image_summaries=add_image_summaries,
        use_grayscale=use_grayscale)
