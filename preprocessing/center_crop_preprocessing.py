"""Resize + center crop for evaluation, random resized crop for training.

The recipe of the Keras / timm ImageNet models (EfficientNet, EfficientNet
v2, ConvNeXt), whose networks here normalise their input themselves: this
module hands them float32 pixels in [0, 255], the array Keras'
`preprocess_input` (the identity for these families) passes on.

- Evaluation: a bicubic, aspect-preserving resize of the shorter side to
  `size / crop_fraction`, then the central `height` x `width` crop, so the
  crop keeps `crop_fraction` of the shorter side (timm's `crop_pct`). The
  default fraction is EfficientNet's published `size / (size + 32)`:
  0.875 at 224 (ConvNeXt's and timm's default), 0.949 at B7's 600.
- Training: a random crop of 8% to 100% of the image area with aspect
  ratio in [3/4, 4/3] (Inception's "random resized crop"), resized to
  `height` x `width`, and a random horizontal flip.

Images of any integer dtype are taken as pixel values; float images are
taken to hold [0, 255] values already.
"""
import math

import tensorflow as tf

from preprocessing import image_ops
from preprocessing import inception_preprocessing
from preprocessing import summaries

tf1 = tf.compat.v1

# EfficientNet's eval crop: the crop is `size` of `size + CROP_PADDING`.
CROP_PADDING = 32
# timm's RandomResizedCrop ranges.
AREA_RANGE = (0.08, 1.0)
ASPECT_RATIO_RANGE = (3.0 / 4.0, 4.0 / 3.0)


def default_crop_fraction(size):
  """EfficientNet's eval crop fraction at `size`: size / (size + 32)."""
  return size / (size + CROP_PADDING)


def resize_side(size, crop_fraction=None):
  """The shorter side to resize to so that a `size` crop keeps
  `crop_fraction` of it: floor(size / crop_fraction) as timm, exactly
  size + 32 for the default fraction."""
  if crop_fraction is None:
    return size + CROP_PADDING
  return math.floor(size / crop_fraction + 1e-9)


def _resize(image, size, method):
  """`image` resized to `size` ([height, width]), antialiased as PIL's
  resize (which timm uses) is, clipped to the pixel range."""
  resized = tf.image.resize(image, size, method=method, antialias=True)
  return tf.clip_by_value(resized, 0.0, 255.0)


def resize_shorter_side(image, shorter_side, method='bicubic'):
  """Aspect-preserving resize that makes the shorter side `shorter_side`.

  Args:
    image: a float32 [height, width, channels] tensor.
    shorter_side: the new length of the shorter side (int or int32 scalar).
    method: a `tf.image.resize` method.

  Returns:
    The resized float32 image, values clipped to [0, 255].
  """
  shape = tf.cast(tf.shape(image)[:2], tf.float32)
  scale = tf.cast(shorter_side, tf.float32) / tf.reduce_min(shape)
  new_size = tf.maximum(tf.cast(tf.round(shape * scale), tf.int32),
                        shorter_side)
  return _resize(image, new_size, method)


def central_crop(image, height, width):
  """The central `height` x `width` window of `image` (rounded down to
  the top left where the margin is odd, as timm's CenterCrop)."""
  shape = tf.shape(image)
  top = (shape[0] - height) // 2
  left = (shape[1] - width) // 2
  return tf.slice(image, [top, left, 0], [height, width, -1])


def preprocess_for_eval(image, height, width, crop_fraction=None,
                        resize_method='bicubic', use_grayscale=False):
  """Resize so that the center crop keeps `crop_fraction`, then crop.

  Args:
    image: a [height, width, channels] image of pixel values.
    height: the output height.
    width: the output width.
    crop_fraction: the fraction of the resized shorter side the crop
      keeps; None for `default_crop_fraction(max(height, width))`.
    resize_method: a `tf.image.resize` method (Keras/timm: bicubic).
    use_grayscale: convert the image to one channel first.

  Returns:
    A float32 [height, width, channels] image in [0, 255].
  """
  with tf1.name_scope('eval_image'):
    image = image_ops.to_float(image, use_grayscale)
    shorter_side = resize_side(max(height, width), crop_fraction)
    image = resize_shorter_side(image, shorter_side, resize_method)
    image = central_crop(image, height, width)
    image.set_shape([height, width, image.get_shape()[-1]])
    return image


def preprocess_for_train(image, height, width, resize_method='bicubic',
                         add_image_summaries=True, use_grayscale=False):
  """Random resized crop and random horizontal flip.

  Args:
    image: a [height, width, channels] image of pixel values.
    height: the output height.
    width: the output width.
    resize_method: a `tf.image.resize` method.
    add_image_summaries: add an image summary of the result (in a plain
      graph; nothing inside tf.data).
    use_grayscale: convert the image to one channel first.

  Returns:
    A float32 [height, width, channels] image in [0, 255].
  """
  with tf1.name_scope('distort_image'):
    image = image_ops.to_float(image, use_grayscale)
    channels = image.get_shape()[-1]
    whole_image = tf.constant([0.0, 0.0, 1.0, 1.0], tf.float32, [1, 1, 4])
    image, _ = inception_preprocessing.distorted_bounding_box_crop(
        image, whole_image, min_object_covered=0.0,
        aspect_ratio_range=ASPECT_RATIO_RANGE, area_range=AREA_RANGE,
        max_attempts=10)
    image = _resize(image, [height, width], resize_method)
    image = tf1.image.random_flip_left_right(image)
    image.set_shape([height, width, channels])
    if add_image_summaries:
      summaries.image_summary('final_distorted_image',
                              tf.expand_dims(image / 255.0, 0))
    return image


def preprocess_image(image, height, width, is_training=False,
                     crop_fraction=None, resize_method='bicubic',
                     add_image_summaries=True, use_grayscale=False):
  """Preprocesses one image for training or evaluation.

  Args:
    image: a [height, width, channels] image of pixel values.
    height: the output height.
    width: the output width.
    is_training: random resized crop + flip, else resize + center crop.
    crop_fraction: the evaluation crop fraction; None for the default
      (`default_crop_fraction`). Unused in training.
    resize_method: a `tf.image.resize` method.
    add_image_summaries: add an image summary in training.
    use_grayscale: convert the image to one channel first.

  Returns:
    A float32 [height, width, channels] image in [0, 255].
  """
  if is_training:
    return preprocess_for_train(image, height, width, resize_method,
                                add_image_summaries, use_grayscale)
  return preprocess_for_eval(image, height, width, crop_fraction,
                             resize_method, use_grayscale)
