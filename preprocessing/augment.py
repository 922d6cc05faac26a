"""Augmentation on the tf.data path: RandAugment, random erasing, mixup, cutmix.

Where each step runs (`image_classifier.inputs.batched` wires them):

    decoded uint8 image -> randaugment -> the family's preprocessing_fn
      -> random_erase -> batch -> mix_batch (mixup or cutmix) -> prefetch

- RandAugment (Cubuk et al. 2019) runs on the decoded image, BEFORE the
  family's preprocessing. Its ops are defined on [0, 255] pixels (PIL's
  ImageOps/ImageEnhance, which the paper's code used) and every family
  (inception, vgg, cifarnet, lenet, mobilenet ...) takes a uint8 image, so
  one implementation serves them all with no per-family value ranges; the
  family's random crop then sees the rotated or sheared image, as in the
  paper. The output is uint8 with the input's shape.
- Random erasing (Zhong et al. 2017) runs AFTER preprocessing, on the float
  image the network sees. The erased pixels are uniform in [min, max] of
  that image, so they stay in whatever range the family produced ([-1, 1],
  mean-subtracted, standardised ...).
- mixup (Zhang et al. 2017) and cutmix (Yun et al. 2019) run per batch:
  lambda ~ Beta(alpha, alpha), each image is mixed with the batch reversed,
  and the labels become `[batch, num_classes]` float mixtures summing to 1
  (cutmix's lambda is the exact fraction of the image left unpasted). With
  both alphas set, each batch uses one of them with probability 0.5, as
  timm does.

All randomness is stateless: every image and every batch carries its own
seed pair from `seed_dataset`, so with a seed the same example gets the same
augmentation however many threads preprocess it.
"""
import dataclasses
import math

import tensorflow as tf

# The RandAugment op set. Each op's strength at magnitude M is its standard
# maximal range (AutoAugment's, as timm's "increasing" variants) scaled by
# M / MAGNITUDE_SCALE: at M=10 rotate reaches 30 degrees, shear 0.3,
# translate 45% of the side, the enhance factors 1 +- 0.9, solarize inverts
# every pixel and posterize keeps 4 bits. Larger M extrapolates (geometric
# ops) or saturates (the pixel ops), up to MAX_MAGNITUDE.
RANDAUGMENT_OPS = ('identity', 'autocontrast', 'equalize', 'rotate',
                   'solarize', 'color', 'posterize', 'contrast', 'brightness',
                   'sharpness', 'shear_x', 'shear_y', 'translate_x',
                   'translate_y')
MAGNITUDE_SCALE = 10.0
MAX_MAGNITUDE = 30

# Random erasing's rectangle, as in Zhong et al.: area fraction in
# [0.02, 0.4], aspect ratio in [0.3, 1 / 0.3], up to 10 tries to fit.
ERASE_AREA = (0.02, 0.4)
ERASE_ASPECT = 0.3
ERASE_ATTEMPTS = 10

# Value that geometric ops give pixels shifted in from outside the image.
FILL_VALUE = 128


@dataclasses.dataclass(frozen=True)
class AugmentParams:
  """What to augment; every default is off.

  Attributes:
    randaugment_layers: RandAugment ops applied per image (N); 0: none.
    randaugment_magnitude: their magnitude M, 0 to MAX_MAGNITUDE.
    random_erasing: probability of erasing a rectangle per image; 0: never.
    mixup_alpha: Beta(alpha, alpha) of mixup per batch; 0: no mixup.
    cutmix_alpha: Beta(alpha, alpha) of cutmix per batch; 0: no cutmix.
  """
  randaugment_layers: int = 0
  randaugment_magnitude: float = 10
  random_erasing: float = 0.0
  mixup_alpha: float = 0.0
  cutmix_alpha: float = 0.0

  def __post_init__(self):
    checks = (
        ('randaugment_layers', self.randaugment_layers >= 0
         and self.randaugment_layers == int(self.randaugment_layers),
         'a whole number >= 0'),
        ('randaugment_magnitude',
         0 <= self.randaugment_magnitude <= MAX_MAGNITUDE,
         f'between 0 and {MAX_MAGNITUDE}'),
        ('random_erasing', 0 <= self.random_erasing <= 1,
         'a probability between 0 and 1'),
        ('mixup_alpha', self.mixup_alpha >= 0, '>= 0 (0: off)'),
        ('cutmix_alpha', self.cutmix_alpha >= 0, '>= 0 (0: off)'))
    for name, ok, valid in checks:
      if not ok:
        raise ValueError(f'--{name} must be {valid}; received '
                         f'{getattr(self, name)!r}.')

  @property
  def per_image(self):
    """Whether any per-image step (RandAugment, random erasing) is on."""
    return self.randaugment_layers > 0 or self.random_erasing > 0

  @property
  def per_batch(self):
    """Whether mixup or cutmix is on (labels become soft)."""
    return self.mixup_alpha > 0 or self.cutmix_alpha > 0

  @property
  def enabled(self):
    return self.per_image or self.per_batch


# ----------------------------------------------------------------- seeds
def seed_dataset(seed=None, salt=0):
  """An endless dataset of `[2]` int64 seeds for stateless random ops.

  Args:
    seed: int seed (the same seed gives the same stream); None: random.
    salt: folded into every seed, to draw independent streams from one seed
      (images use 0, batches 1).

  Returns:
    A `tf.data.Dataset` of int64 `[2]` tensors.
  """
  seeds = tf.data.Dataset.random(seed=seed).batch(2, drop_remainder=True)
  if salt:
    # Traced as written: autograph has nothing to convert here.
    seeds = seeds.map(tf.autograph.experimental.do_not_convert(
        lambda s: tf.random.experimental.stateless_fold_in(s, salt)))
  return seeds


def _split(seed, num):
  return tf.unstack(tf.random.experimental.stateless_split(seed, num))


def _uniform(seed, shape=(), minval=0.0, maxval=1.0, dtype=tf.float32):
  if isinstance(shape, (tuple, list)):
    shape = list(shape)
  return tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=dtype)


# ------------------------------------------------- RandAugment pixel ops
def _channels(image):
  channels = image.shape[-1] if image.shape.rank == 3 else None
  if channels not in (1, 3):
    raise ValueError('RandAugment takes a [height, width, 1 or 3] image; '
                     f'received shape {image.shape}.')
  return channels


def _to_uint8(image):
  """Clips to [0, 255] and truncates, as PIL does."""
  return tf.cast(tf.clip_by_value(image, 0.0, 255.0), tf.uint8)


def _grayscale(image):
  """PIL's convert('L'): rounded ITU-R 601-2 luma, float [H, W, 1]."""
  image = tf.cast(image, tf.float32)
  if _channels(image) == 1:
    return image
  luma = tf.tensordot(image, tf.constant([0.299, 0.587, 0.114]), 1)
  return tf.floor(luma + 0.5)[..., tf.newaxis]


def _blend(degenerate, image, factor):
  """PIL's Image.blend(degenerate, image, factor), as ImageEnhance uses it."""
  degenerate = tf.cast(degenerate, tf.float32)
  image = tf.cast(image, tf.float32)
  return _to_uint8(degenerate + factor * (image - degenerate))


def identity(image):
  """Returns `image` unchanged."""
  return tf.identity(image)


def autocontrast(image):
  """Stretches each channel to [0, 255] (PIL's ImageOps.autocontrast).

  Args:
    image: uint8 `[height, width, channels]`.

  Returns:
    The uint8 image; a flat channel is left unchanged.
  """
  x = tf.cast(image, tf.float32)
  lo = tf.reduce_min(x, axis=[0, 1])
  hi = tf.reduce_max(x, axis=[0, 1])
  scale = 255.0 / tf.maximum(hi - lo, 1.0)
  stretched = _to_uint8((x - lo) * scale)
  return tf.where(hi > lo, stretched, image)


def _equalize_channel(channel):
  values = tf.cast(channel, tf.int32)
  histogram = tf.math.bincount(values, minlength=256, maxlength=256)
  nonzero = tf.boolean_mask(histogram, histogram > 0)
  step = (tf.reduce_sum(nonzero) - nonzero[-1]) // 255
  lut = ((tf.cumsum(histogram, exclusive=True) + step // 2)
         // tf.maximum(step, 1))
  equalized = tf.gather(tf.clip_by_value(lut, 0, 255), values)
  return tf.cast(tf.where(step > 0, equalized, values), tf.uint8)


def equalize(image):
  """Histogram equalization per channel (PIL's ImageOps.equalize).

  Args:
    image: uint8 `[height, width, channels]`.

  Returns:
    The uint8 image.
  """
  return tf.stack([_equalize_channel(image[..., c])
                   for c in range(_channels(image))], axis=-1)


def solarize(image, threshold):
  """Inverts the pixels at or above `threshold` (PIL's ImageOps.solarize).

  Args:
    image: uint8 `[height, width, channels]`.
    threshold: int in [0, 256]; 256 leaves the image as it is.

  Returns:
    The uint8 image.
  """
  values = tf.cast(image, tf.int32)
  return tf.cast(tf.where(values < tf.cast(threshold, tf.int32), values,
                          255 - values), tf.uint8)


def posterize(image, bits):
  """Keeps the `bits` high bits of each value (PIL's ImageOps.posterize).

  Args:
    image: uint8 `[height, width, channels]`.
    bits: int in [1, 8].

  Returns:
    The uint8 image.
  """
  shift = 8 - tf.cast(bits, tf.int32)
  values = tf.cast(image, tf.int32)
  return tf.cast(tf.bitwise.left_shift(tf.bitwise.right_shift(values, shift),
                                       shift), tf.uint8)


def color(image, factor):
  """Saturation: blends with the grayscale image (ImageEnhance.Color)."""
  return _blend(_grayscale(image), image, factor)


def contrast(image, factor):
  """Blends with the rounded mean gray level (ImageEnhance.Contrast)."""
  mean = tf.floor(tf.reduce_mean(_grayscale(image)) + 0.5)
  return _blend(mean, image, factor)


def brightness(image, factor):
  """Blends with black (ImageEnhance.Brightness)."""
  return _blend(0.0, image, factor)


def sharpness(image, factor):
  """Blends with PIL's SMOOTH-filtered image (ImageEnhance.Sharpness).

  The smoothed image is the 3x3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13,
  rounded, with the one-pixel border left as it was, as PIL does.

  Args:
    image: uint8 `[height, width, channels]`, at least 3 x 3.
    factor: 0 gives the smoothed image, 1 the image, above 1 sharpens.

  Returns:
    The uint8 image.
  """
  channels = _channels(image)
  x = tf.cast(image, tf.float32)
  kernel = tf.constant([[1, 1, 1], [1, 5, 1], [1, 1, 1]], tf.float32) / 13.0
  kernel = tf.tile(kernel[:, :, tf.newaxis, tf.newaxis], [1, 1, channels, 1])
  smooth = tf.nn.depthwise_conv2d(x[tf.newaxis], kernel, [1, 1, 1, 1],
                                  'VALID')[0]
  smooth = tf.clip_by_value(tf.floor(smooth + 0.5), 0.0, 255.0)
  interior = tf.pad(tf.ones_like(smooth, tf.bool), [[1, 1], [1, 1], [0, 0]])
  degenerate = tf.where(interior, tf.pad(smooth, [[1, 1], [1, 1], [0, 0]]),
                        x)
  return _blend(degenerate, image, factor)


# -------------------------------------------------- RandAugment geometry
def transform(image, matrix):
  """Resamples `image` (nearest pixel) with a projective transform.

  Args:
    image: uint8 `[height, width, channels]`.
    matrix: 8 floats [a0, a1, a2, b0, b1, b2, c0, c1]: output pixel (x, y)
      takes input pixel ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
      k = c0 x + c1 y + 1; pixels from outside the image are FILL_VALUE.

  Returns:
    The uint8 image, same shape.
  """
  out = tf.raw_ops.ImageProjectiveTransformV3(
      images=image[tf.newaxis],
      transforms=tf.reshape(tf.cast(matrix, tf.float32), [1, 8]),
      output_shape=tf.shape(image)[:2], fill_value=float(FILL_VALUE),
      interpolation='NEAREST', fill_mode='CONSTANT')[0]
  out.set_shape(image.shape)
  return out


def rotate(image, degrees):
  """Rotates `image` by `degrees` about its center.

  Positive degrees turn it counterclockwise as displayed (as np.rot90 does).
  """
  theta = tf.cast(degrees, tf.float32) * (math.pi / 180.0)
  shape = tf.cast(tf.shape(image), tf.float32)
  h, w = shape[0] - 1.0, shape[1] - 1.0
  cos, sin = tf.cos(theta), tf.sin(theta)
  x_offset = (w - (cos * w - sin * h)) / 2.0
  y_offset = (h - (sin * w + cos * h)) / 2.0
  return transform(image, [cos, -sin, x_offset, sin, cos, y_offset, 0.0, 0.0])


def shear_x(image, shear):
  """Output pixel (x, y) takes input (x + shear * y, y)."""
  return transform(image, [1.0, shear, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])


def shear_y(image, shear):
  """Output pixel (x, y) takes input (x, y + shear * x)."""
  return transform(image, [1.0, 0.0, 0.0, shear, 1.0, 0.0, 0.0, 0.0])


def translate_x(image, pixels):
  """Output pixel (x, y) takes input (x + pixels, y)."""
  return transform(image, [1.0, 0.0, pixels, 0.0, 1.0, 0.0, 0.0, 0.0])


def translate_y(image, pixels):
  """Output pixel (x, y) takes input (x, y + pixels)."""
  return transform(image, [1.0, 0.0, 0.0, 0.0, 1.0, pixels, 0.0, 0.0])


# ------------------------------------------------------ RandAugment itself
_OP_FNS = {'identity': identity, 'autocontrast': autocontrast,
           'equalize': equalize, 'rotate': rotate, 'solarize': solarize,
           'color': color, 'posterize': posterize, 'contrast': contrast,
           'brightness': brightness, 'sharpness': sharpness,
           'shear_x': shear_x, 'shear_y': shear_y,
           'translate_x': translate_x, 'translate_y': translate_y}


def op_argument(name, image, magnitude, sign):
  """The argument RandAugment gives op `name` at `magnitude`.

  Args:
    name: one of RANDAUGMENT_OPS.
    image: the image (translations scale with its size).
    magnitude: M, 0 to MAX_MAGNITUDE.
    sign: +1.0 or -1.0 (a float tensor): the direction of rotations, shears,
      translations and enhance factors.

  Returns:
    The argument tensor, or None for ops that take none.
  """
  level = tf.cast(magnitude, tf.float32) / MAGNITUDE_SCALE
  shape = tf.cast(tf.shape(image), tf.float32)
  if name == 'rotate':
    return sign * 30.0 * level
  if name in ('shear_x', 'shear_y'):
    return sign * 0.3 * level
  if name == 'translate_x':
    return sign * 0.45 * level * shape[1]
  if name == 'translate_y':
    return sign * 0.45 * level * shape[0]
  if name in ('color', 'contrast', 'brightness', 'sharpness'):
    return tf.maximum(1.0 + sign * 0.9 * level, 0.0)
  if name == 'solarize':
    return tf.cast(tf.clip_by_value(256.0 - 256.0 * level, 0.0, 256.0),
                   tf.int32)
  if name == 'posterize':
    return tf.cast(tf.clip_by_value(8.0 - tf.round(4.0 * level), 1.0, 8.0),
                   tf.int32)
  return None


def apply_op(name, image, magnitude, sign):
  """Applies RandAugment op `name` at `magnitude` (see `op_argument`)."""
  fn = _OP_FNS[name]
  argument = op_argument(name, image, magnitude, sign)
  return fn(image) if argument is None else fn(image, argument)


def randaugment(image, num_layers, magnitude, seed):
  """RandAugment: `num_layers` ops drawn uniformly, each at `magnitude`.

  Args:
    image: uint8 `[height, width, 1 or 3]` decoded image (any size).
    num_layers: N, the number of ops applied in sequence.
    magnitude: M, 0 to MAX_MAGNITUDE (10 reaches the standard ranges).
    seed: `[2]` int seed of stateless random ops.

  Returns:
    The uint8 image, same shape.

  Raises:
    ValueError: if `image` is not uint8 with 1 or 3 channels.
  """
  _channels(image)
  if image.dtype != tf.uint8:
    raise ValueError('RandAugment takes the decoded uint8 image; received '
                     f'{image.dtype.name}.')
  seeds = _split(seed, num_layers + 1)
  choices = _uniform(seeds[0], [num_layers], 0, len(RANDAUGMENT_OPS),
                     tf.int32)
  for layer in range(num_layers):
    sign = tf.where(_uniform(seeds[layer + 1]) < 0.5, -1.0, 1.0)
    current = image
    branches = [
        lambda name=name, current=current, sign=sign: apply_op(
            name, current, magnitude, sign)
        for name in RANDAUGMENT_OPS]
    image = tf.switch_case(choices[layer], branches)
    image.set_shape(current.shape)
  return image


# ---------------------------------------------------------- random erasing
def random_erase(image, probability, seed):
  """Random erasing: with `probability`, fills a random rectangle with noise.

  The rectangle covers 2% to 40% of the image with an aspect ratio between
  0.3 and 1/0.3 (the first of 10 draws that fits; none fitting erases
  nothing); its pixels are uniform in [min, max] of `image`.

  Args:
    image: float `[height, width, channels]`, after preprocessing.
    probability: chance of erasing, in [0, 1].
    seed: `[2]` int seed of stateless random ops.

  Returns:
    The image, same shape and dtype.
  """
  seeds = _split(seed, 6)
  shape = tf.shape(image)
  height, width = shape[0], shape[1]
  area = tf.cast(height * width, tf.float32)
  target = area * _uniform(seeds[0], [ERASE_ATTEMPTS], *ERASE_AREA)
  aspect = _uniform(seeds[1], [ERASE_ATTEMPTS], ERASE_ASPECT,
                    1.0 / ERASE_ASPECT)
  heights = tf.cast(tf.round(tf.sqrt(target * aspect)), tf.int32)
  widths = tf.cast(tf.round(tf.sqrt(target / aspect)), tf.int32)
  fits = (heights < height) & (widths < width) & (heights > 0) & (widths > 0)
  first = tf.argmax(tf.cast(fits, tf.int32), output_type=tf.int32)
  h, w = heights[first], widths[first]
  top = tf.cast(_uniform(seeds[2]) * tf.cast(height - h + 1, tf.float32),
                tf.int32)
  left = tf.cast(_uniform(seeds[3]) * tf.cast(width - w + 1, tf.float32),
                 tf.int32)
  rows = tf.range(height)[:, tf.newaxis, tf.newaxis]
  cols = tf.range(width)[tf.newaxis, :, tf.newaxis]
  inside = ((rows >= top) & (rows < top + h)
            & (cols >= left) & (cols < left + w))
  erase = (_uniform(seeds[4]) < probability) & tf.reduce_any(fits)

  def erased():
    noise = _uniform(seeds[5], shape, dtype=image.dtype,
                     minval=tf.reduce_min(image), maxval=tf.reduce_max(image))
    return tf.where(inside, noise, image)

  # The noise is drawn only for the images erased.
  return tf.cond(erase, erased, lambda: image)


def augment_image(image, preprocess, params, seed):
  """One example's path: RandAugment, `preprocess`, random erasing.

  Args:
    image: the decoded uint8 image.
    preprocess: fn(image) -> float image, the family's preprocessing.
    params: an AugmentParams.
    seed: `[2]` int seed (one per example, from `seed_dataset`).

  Returns:
    The preprocessed, augmented image.
  """
  randaugment_seed, erasing_seed = _split(seed, 2)
  if params.randaugment_layers:
    image = randaugment(image, params.randaugment_layers,
                        params.randaugment_magnitude, randaugment_seed)
  image = preprocess(image)
  if params.random_erasing:
    image = random_erase(image, params.random_erasing, erasing_seed)
  return image


# ------------------------------------------------------------ mixup, cutmix
def sample_beta(alpha, seed, shape=()):
  """Beta(alpha, alpha) draws as G1 / (G1 + G2), G ~ Gamma(alpha) (float32)."""
  gammas = tf.random.stateless_gamma([2] + list(shape), seed, alpha,
                                     dtype=tf.float64)
  total = gammas[0] + gammas[1]
  # Both draws can underflow to 0 for a tiny alpha: then keep the image.
  beta = tf.where(total > 0, gammas[0] / tf.where(total > 0, total, 1.0), 1.0)
  return tf.cast(beta, tf.float32)


def _mix_labels(labels, lam):
  return lam * labels + (1.0 - lam) * tf.reverse(labels, [0])


def mixup(images, labels, lam):
  """Mixes each example with the batch reversed: lam * own + (1 - lam) * other.

  Args:
    images: float `[batch, height, width, channels]`.
    labels: float `[batch, num_classes]`, one-hot or soft.
    lam: scalar float weight of each example's own image and label.

  Returns:
    (images, labels), mixed.
  """
  weight = tf.cast(lam, images.dtype)
  mixed = weight * images + (1.0 - weight) * tf.reverse(images, [0])
  return mixed, _mix_labels(labels, lam)


def cutmix(images, labels, lam, seed):
  """Pastes a box of the reversed batch into every image.

  The box has sides sqrt(1 - lam) of the image's, centered on a uniform
  pixel and clipped to the image; the labels are weighted by the exact area
  fraction left unpasted.

  Args:
    images: float `[batch, height, width, channels]`.
    labels: float `[batch, num_classes]`, one-hot or soft.
    lam: scalar float, Beta-distributed.
    seed: `[2]` int seed of the box's center.

  Returns:
    (images, labels, lam): mixed, and the area fraction of each image's own.
  """
  shape = tf.shape(images)
  height, width = shape[1], shape[2]
  cut = tf.sqrt(1.0 - lam)
  half_h = tf.cast(cut * tf.cast(height, tf.float32), tf.int32) // 2
  half_w = tf.cast(cut * tf.cast(width, tf.float32), tf.int32) // 2
  y_seed, x_seed = _split(seed, 2)
  cy = _uniform(y_seed, (), 0, height, tf.int32)
  cx = _uniform(x_seed, (), 0, width, tf.int32)
  y1, y2 = tf.maximum(cy - half_h, 0), tf.minimum(cy + half_h, height)
  x1, x2 = tf.maximum(cx - half_w, 0), tf.minimum(cx + half_w, width)
  rows = tf.range(height)[tf.newaxis, :, tf.newaxis, tf.newaxis]
  cols = tf.range(width)[tf.newaxis, tf.newaxis, :, tf.newaxis]
  box = (rows >= y1) & (rows < y2) & (cols >= x1) & (cols < x2)
  images = tf.where(box, tf.reverse(images, [0]), images)
  lam = 1.0 - tf.cast((y2 - y1) * (x2 - x1), tf.float32) / tf.cast(
      height * width, tf.float32)
  return images, _mix_labels(labels, lam), lam


def mix_batch(images, labels, params, seed):
  """mixup or cutmix on one batch, as `params` asks.

  Args:
    images: float `[batch, height, width, channels]`.
    labels: float `[batch, num_classes]` one-hot labels.
    params: an AugmentParams with mixup_alpha or cutmix_alpha > 0.
    seed: `[2]` int seed (one per batch, from `seed_dataset`).

  Returns:
    (images, labels): mixed; each label row sums to 1.
  """
  choice_seed, mixup_seed, cutmix_seed, box_seed = _split(seed, 4)

  def do_mixup():
    return mixup(images, labels, sample_beta(params.mixup_alpha, mixup_seed))

  def do_cutmix():
    lam = sample_beta(params.cutmix_alpha, cutmix_seed)
    return cutmix(images, labels, lam, box_seed)[:2]

  if not params.cutmix_alpha:
    return do_mixup()
  if not params.mixup_alpha:
    return do_cutmix()
  return tf.cond(_uniform(choice_seed) < 0.5, do_cutmix, do_mixup)
