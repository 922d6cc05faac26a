"""preprocessing/augment.py against independent references.

RandAugment's pixel ops against PIL (ImageOps / ImageEnhance, what the
paper's code used), its geometric ops against numpy index arithmetic,
random erasing's rectangle and value range, Beta sampling's moments, and
mixup/cutmix read back from constant images (each example one value, so the
mixing weight and the pasted area can be measured from the pixels).
"""
import numpy as np
from PIL import Image
from PIL import ImageEnhance
from PIL import ImageOps
import pytest
import tensorflow as tf

from preprocessing import augment
from tests.preprocessing import pp_harness as h

tf1 = tf.compat.v1

# A 3-channel image with a spread histogram, and one squeezed into 40..99
# (equalize and autocontrast then have something to do).
IMAGE = h.random_image(13, 17, seed=1)
NARROW = h.random_image(32, 32, seed=2, low=40, high=100)


def _run(fn, image, seeds=(None,)):
  """fn(image_tensor, seed_tensor) for each seed, in one graph."""
  with tf.Graph().as_default():
    x = tf1.placeholder(tf.as_dtype(image.dtype), [None, None, image.shape[2]])
    seed = tf1.placeholder(tf.int64, [2])
    out = fn(x, seed)
    with tf1.Session() as sess:
      return [sess.run(out, {x: image, seed: s if s is not None else [0, 0]})
              for s in seeds]


def _op(name, image, argument=None):
  fn = getattr(augment, name)
  return _run(lambda x, _: fn(x) if argument is None else fn(x, argument),
              image)[0]


def _pil(image):
  return Image.fromarray(image)


# ------------------------------------------------------------ pixel ops
@pytest.mark.parametrize('name,pil_fn', [
    ('autocontrast', ImageOps.autocontrast),
    ('equalize', ImageOps.equalize),
])
@pytest.mark.parametrize('image', [IMAGE, NARROW], ids=['spread', 'narrow'])
def test_histogram_ops_match_pil(name, pil_fn, image):
  expected = np.asarray(pil_fn(_pil(image)))
  got = _op(name, image)
  assert got.dtype == np.uint8
  assert np.abs(got.astype(int) - expected).max() <= 1
  assert np.mean(got != expected) < 0.01


def test_equalize_spreads_a_narrow_histogram():
  got = _op('equalize', NARROW)
  assert got.min() < 10 and got.max() > 245


@pytest.mark.parametrize('name,argument,pil_fn', [
    ('solarize', 100, lambda im: ImageOps.solarize(im, 100)),
    ('solarize', 0, ImageOps.invert),
    ('solarize', 256, lambda im: im),
    ('posterize', 3, lambda im: ImageOps.posterize(im, 3)),
    ('posterize', 8, lambda im: im),
])
def test_lut_ops_match_pil_exactly(name, argument, pil_fn):
  np.testing.assert_array_equal(_op(name, IMAGE, argument),
                                np.asarray(pil_fn(_pil(IMAGE))))


@pytest.mark.parametrize('name,enhancer', [
    ('color', ImageEnhance.Color), ('contrast', ImageEnhance.Contrast),
    ('brightness', ImageEnhance.Brightness),
    ('sharpness', ImageEnhance.Sharpness)])
@pytest.mark.parametrize('factor', [0.0, 0.3, 1.0, 1.7])
def test_enhance_ops_match_pil(name, enhancer, factor):
  expected = np.asarray(enhancer(_pil(IMAGE)).enhance(factor))
  got = _op(name, IMAGE, factor)
  # PIL's integer luma and float32 rounding differ by at most one level.
  assert np.abs(got.astype(int) - expected).max() <= 1
  if factor == 1.0:
    np.testing.assert_array_equal(got, IMAGE)


def test_grayscale_images_work():
  gray = IMAGE[..., :1]
  for name in ('color', 'contrast', 'sharpness'):
    expected = np.asarray(getattr(ImageEnhance, name.capitalize())(
        _pil(gray[..., 0])).enhance(0.3))
    got = _op(name, gray, 0.3)
    assert got.shape == gray.shape
    assert np.abs(got[..., 0].astype(int) - expected).max() <= 1


# ------------------------------------------------------------ geometry
def _round_half_away(values):
  return np.sign(values) * np.floor(np.abs(values) + 0.5)


def _nearest_reference(image, matrix):
  """Output (x, y) takes input round(matrix @ (x, y, 1)), else FILL_VALUE.

  Rounding is half away from zero (std::round, what the kernel uses).
  """
  height, width = image.shape[:2]
  ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
  a0, a1, a2, b0, b1, b2 = matrix
  src_x = _round_half_away(a0 * xs + a1 * ys + a2).astype(int)
  src_y = _round_half_away(b0 * xs + b1 * ys + b2).astype(int)
  inside = (src_x >= 0) & (src_x < width) & (src_y >= 0) & (src_y < height)
  out = np.full_like(image, augment.FILL_VALUE)
  out[inside] = image[src_y[inside], src_x[inside]]
  return out


@pytest.mark.parametrize('name,argument,matrix', [
    ('translate_x', 4.0, (1, 0, 4, 0, 1, 0)),
    ('translate_y', -3.0, (1, 0, 0, 0, 1, -3)),
    ('shear_x', 0.29, (1, 0.29, 0, 0, 1, 0)),
    # -0.25 x is exact in float32 and ties at every other column.
    ('shear_y', -0.25, (1, 0, 0, -0.25, 1, 0)),
])
def test_affine_ops_match_index_arithmetic(name, argument, matrix):
  np.testing.assert_array_equal(_op(name, IMAGE, argument),
                                _nearest_reference(IMAGE, matrix))


def test_rotate_quarter_turn_is_rot90_and_keeps_the_center():
  # Positive degrees turn counterclockwise as displayed, like np.rot90.
  square = h.random_image(9, 9, seed=3)
  np.testing.assert_array_equal(_op('rotate', square, 90.0),
                                np.rot90(square, k=1))
  np.testing.assert_array_equal(_op('rotate', square, -90.0),
                                np.rot90(square, k=-1))
  np.testing.assert_array_equal(_op('rotate', square, 0.0), square)
  rotated = _op('rotate', IMAGE, 30.0)
  np.testing.assert_array_equal(rotated[6, 8], IMAGE[6, 8])
  # The corners come from outside the image.
  assert (rotated[0, 0] == augment.FILL_VALUE).all()


# ------------------------------------------------------------ RandAugment
def test_magnitude_maps_to_the_standard_ranges():
  with tf.Graph().as_default(), tf1.Session() as sess:
    image = tf.zeros([20, 40, 3], tf.uint8)
    args = {(name, m, s): augment.op_argument(name, image, m, s)
            for name in augment.RANDAUGMENT_OPS for m in (0, 10, 30)
            for s in (-1.0, 1.0)}
    got = sess.run({k: v for k, v in args.items() if v is not None})
  assert got[('rotate', 10, 1.0)] == pytest.approx(30.0)
  assert got[('rotate', 10, -1.0)] == pytest.approx(-30.0)
  assert got[('shear_x', 10, 1.0)] == pytest.approx(0.3)
  assert got[('translate_x', 10, -1.0)] == pytest.approx(-0.45 * 40)
  assert got[('translate_y', 10, 1.0)] == pytest.approx(0.45 * 20)
  assert got[('color', 10, 1.0)] == pytest.approx(1.9)
  assert got[('contrast', 10, -1.0)] == pytest.approx(0.1)
  assert got[('brightness', 30, -1.0)] == 0.0
  assert got[('solarize', 0, 1.0)] == 256
  assert got[('solarize', 10, 1.0)] == 0
  assert got[('posterize', 0, 1.0)] == 8
  assert got[('posterize', 10, 1.0)] == 4
  assert got[('posterize', 30, 1.0)] == 1
  for name in ('rotate', 'shear_y', 'translate_x'):
    assert got[(name, 0, -1.0)] == 0.0
  assert got[('sharpness', 0, -1.0)] == 1.0


def test_magnitude_zero_applies_identity_or_a_histogram_op():
  # At M=0 every op is the identity except autocontrast and equalize.
  allowed = [IMAGE, np.asarray(ImageOps.autocontrast(_pil(IMAGE))),
             np.asarray(ImageOps.equalize(_pil(IMAGE)))]
  outputs = _run(lambda x, s: augment.randaugment(x, 1, 0, s), IMAGE,
                 seeds=[[i, 7] for i in range(12)])
  for out in outputs:
    assert any(np.abs(out.astype(int) - a).max() <= 1 for a in allowed)


@pytest.mark.parametrize('runner', ['graph', 'map'])
def test_randaugment_shape_dtype_and_determinism(runner):
  fn = lambda x: augment.randaugment(x, 2, 15, tf.constant([5, 6], tf.int64))
  result = h.RUNNERS[runner](fn, IMAGE, runs=2)
  assert result.static_shape == [None, None, 3]
  first, second = result.values
  assert first.dtype == np.uint8 and first.shape == IMAGE.shape
  np.testing.assert_array_equal(first, second)
  outputs = _run(lambda x, s: augment.randaugment(x, 2, 15, s), IMAGE,
                 seeds=[[5, 6], [5, 6], [1, 2], [3, 4], [8, 9]])
  np.testing.assert_array_equal(outputs[0], first)
  np.testing.assert_array_equal(outputs[0], outputs[1])
  assert sum(not np.array_equal(outputs[0], o) for o in outputs[2:]) >= 2


def test_randaugment_rejects_float_or_rank_2_images():
  with tf.Graph().as_default():
    seed = tf.constant([1, 2], tf.int64)
    with pytest.raises(ValueError, match='uint8'):
      augment.randaugment(tf.zeros([4, 4, 3]), 1, 10, seed)
    with pytest.raises(ValueError, match=r'1 or 3\] image; received shape'):
      augment.randaugment(tf.zeros([4, 4], tf.uint8), 1, 10, seed)


# ------------------------------------------------------------ random erasing
def test_random_erase_paints_one_rectangle_within_the_value_range():
  image = (IMAGE.astype(np.float32) - 128.0) / 128.0  # lenet's range
  seeds = [[i, 1] for i in range(40)]
  outputs = _run(lambda x, s: augment.random_erase(x, 1.0, s), image, seeds)
  area = image.shape[0] * image.shape[1]
  erased_any = 0
  for out in outputs:
    assert out.shape == image.shape and out.dtype == np.float32
    assert out.min() >= image.min() and out.max() <= image.max()
    changed = np.any(out != image, axis=-1)
    if not changed.any():
      continue
    erased_any += 1
    rows, cols = np.nonzero(changed)
    h_box = rows.max() - rows.min() + 1
    w_box = cols.max() - cols.min() + 1
    # Noise may equal a pixel by chance, hardly a whole row or column.
    assert changed.sum() >= 0.9 * h_box * w_box
    assert 0.02 * area * 0.5 <= h_box * w_box <= 0.4 * area * 1.5
    assert h_box < image.shape[0] and w_box < image.shape[1]
  assert erased_any >= 35


def test_random_erase_probability():
  image = IMAGE.astype(np.float32)
  seeds = [[i, 2] for i in range(100)]
  never = _run(lambda x, s: augment.random_erase(x, 0.0, s), image, seeds[:5])
  for out in never:
    np.testing.assert_array_equal(out, image)
  half = _run(lambda x, s: augment.random_erase(x, 0.5, s), image, seeds)
  rate = np.mean([not np.array_equal(out, image) for out in half])
  assert 0.3 <= rate <= 0.7


# ------------------------------------------------------------ mixup, cutmix
@pytest.mark.parametrize('alpha', [0.2, 1.0])
def test_beta_samples_have_the_beta_moments(alpha):
  with tf.Graph().as_default(), tf1.Session() as sess:
    draws = sess.run(augment.sample_beta(alpha, tf.constant([1, 2]),
                                         shape=[20000]))
  assert draws.min() >= 0 and draws.max() <= 1
  assert draws.mean() == pytest.approx(0.5, abs=0.01)
  # Var of Beta(a, a) = 1 / (4 (2a + 1)).
  assert draws.var() == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.05)


BATCH, CLASSES, SIZE = 4, 5, 16
CLASS_OF = np.array([2, 0, 4, 1])
VALUE_OF = np.array([10.0, 20.0, 30.0, 40.0])


def _mix(fn, seeds):
  """fn(images, onehot, seed) on constant images; [(images, labels)]."""
  images = np.broadcast_to(VALUE_OF[:, None, None, None],
                           (BATCH, SIZE, SIZE, 3)).astype(np.float32)
  onehot = np.eye(CLASSES, dtype=np.float32)[CLASS_OF]
  with tf.Graph().as_default():
    seed = tf1.placeholder(tf.int64, [2])
    out = fn(tf.constant(images), tf.constant(onehot), seed)
    with tf1.Session() as sess:
      return [sess.run(out, {seed: s}) for s in seeds]


def _own_weight(labels):
  """Each example's weight on its own class (classes are all distinct)."""
  return labels[np.arange(BATCH), CLASS_OF]


def _check_labels(labels):
  np.testing.assert_allclose(labels.sum(axis=1), 1.0, atol=1e-6)
  assert labels.min() >= 0
  other = CLASS_OF[::-1]
  own = _own_weight(labels)
  np.testing.assert_allclose(labels[np.arange(BATCH), other], 1 - own,
                             atol=1e-6)


def test_mixup_mixes_images_and_labels_with_the_same_weight():
  params = augment.AugmentParams(mixup_alpha=0.4)
  results = _mix(lambda x, y, s: augment.mix_batch(x, y, params, s),
                 [[i, 3] for i in range(6)])
  for images, labels in results:
    _check_labels(labels)
    lam = _own_weight(labels)
    np.testing.assert_allclose(lam, lam[0], atol=1e-6)
    expected = lam * VALUE_OF + (1 - lam) * VALUE_OF[::-1]
    np.testing.assert_allclose(images[:, 5, 7, 1], expected, rtol=1e-5)
    assert np.ptp(images, axis=(1, 2, 3)).max() < 1e-4


def test_cutmix_lambda_is_the_unpasted_area_fraction():
  params = augment.AugmentParams(cutmix_alpha=1.0)
  results = _mix(lambda x, y, s: augment.mix_batch(x, y, params, s),
                 [[i, 4] for i in range(12)])
  for images, labels in results:
    _check_labels(labels)
    own_pixels = images[..., 0] == VALUE_OF[:, None, None]
    pasted = images[..., 0] == VALUE_OF[::-1, None, None]
    assert np.all(own_pixels | pasted)
    fraction = own_pixels.reshape(BATCH, -1).mean(axis=1)
    np.testing.assert_allclose(_own_weight(labels), fraction, atol=1e-6)
    # One box, the same in every image (the reversed batch pasted in).
    rows, cols = np.nonzero(pasted[0])
    if rows.size:
      assert rows.size == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    np.testing.assert_array_equal(pasted[0], pasted[1])


def test_both_alphas_pick_mixup_or_cutmix_per_batch():
  params = augment.AugmentParams(mixup_alpha=1.0, cutmix_alpha=1.0)
  results = _mix(lambda x, y, s: augment.mix_batch(x, y, params, s),
                 [[i, 5] for i in range(20)])
  kinds = []
  for images, labels in results:
    _check_labels(labels)
    cut = np.all(np.isin(images[0], VALUE_OF))
    kinds.append('cutmix' if cut else 'mixup')
  assert 4 <= kinds.count('cutmix') <= 16, kinds


def test_params_validate_and_default_off():
  assert not augment.AugmentParams().enabled
  assert augment.AugmentParams(random_erasing=0.1).per_image
  assert augment.AugmentParams(cutmix_alpha=1).per_batch
  for bad in (dict(randaugment_layers=-1), dict(randaugment_magnitude=31),
              dict(random_erasing=1.5), dict(mixup_alpha=-0.1),
              dict(cutmix_alpha=-1)):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=f'--{name} must be .* received'):
      augment.AugmentParams(**bad)
