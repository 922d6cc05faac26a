"""Shared code of the Keras parity tests: our network on imported weights.

A parity test builds a Keras twin (`keras_twins.make_twin`), imports each of
its two weight files through the product's importer
(`tools.keras_import.checkpoint_values` + `write_checkpoint`), restores the
checkpoint into our network the way `--checkpoint_path` would (a Saver over
the variables by name) and compares the logits:

    twin = keras_twins.make_twin(keras.applications.MobileNet, tmp_path)
    images = keras_parity.random_images(224, low=-1.0, high=1.0)
    for path in (twin.legacy_h5, twin.weights_h5):
      ours = keras_parity.imported_logits('mobilenet_v1', path, images,
                                          tmp_path)
      keras_parity.assert_logits_close(ours, twin.logits(images))

Going through a written checkpoint (rather than assigning the arrays) tests
what users run: the names and shapes the importer saves are the ones the
network restores.
"""
import os

import numpy as np
import tensorflow as tf

from nets import nets_factory
from tools import keras_import

tf1 = tf.compat.v1


def random_images(size, low=-1.0, high=1.0, batch=1, seed=0):
  """A float32 batch [batch, size, size, 3], uniform in [low, high): the
  range the network's preprocessing (and Keras' preprocess_input)
  produces."""
  rng = np.random.default_rng(seed)
  return rng.uniform(low, high, (batch, size, size, 3)).astype(np.float32)


def imported_checkpoint(model_name, keras_path, folder):
  """Imports `keras_path` for `model_name`; returns the checkpoint path."""
  values = keras_import.checkpoint_values(model_name, keras_path)
  checkpoint = os.path.join(
      str(folder), f'{os.path.basename(keras_path)}.{model_name}.ckpt')
  keras_import.write_checkpoint(values, checkpoint)
  return checkpoint


def checkpoint_logits(model_name, checkpoint, images, num_classes=1000):
  """Our network's logits on `images` with the variables of `checkpoint`.

  Built in a fresh graph with is_training=False and `num_classes` (the
  Keras weights' 1000), every global variable restored by name: a variable
  the checkpoint lacks fails the restore.
  """
  network_fn = nets_factory.get_network_fn(model_name, num_classes,
                                           is_training=False)
  with tf.Graph().as_default():
    inputs = tf1.placeholder(tf.float32, images.shape)
    logits, _ = network_fn(inputs)
    saver = tf1.train.Saver(tf1.global_variables())
    with tf1.Session() as sess:
      saver.restore(sess, checkpoint)
      return sess.run(logits, {inputs: images})


def imported_logits(model_name, keras_path, images, folder):
  """Our logits on `images` after importing the Keras file `keras_path`.

  Args:
    model_name: our network's name (`mobilenet_v1`).
    keras_path: a legacy `.h5` or Keras 3 `.weights.h5` of its Keras twin.
    images: float32 [batch, size, size, 3] in the network's input range.
    folder: where the imported checkpoint is written.

  Returns:
    numpy logits [batch, 1000].
  """
  checkpoint = imported_checkpoint(model_name, keras_path, folder)
  return checkpoint_logits(model_name, checkpoint, images)


def assert_logits_close(ours, keras, rtol=1e-4):
  """Asserts max|ours - keras| <= rtol * max|keras| (a relative norm: the
  largest error against the largest logit, so near-zero logits do not make
  an elementwise relative test fail on float noise)."""
  ours = np.asarray(ours, np.float64)
  keras = np.asarray(keras, np.float64)
  assert ours.shape == keras.shape, (ours.shape, keras.shape)
  error = np.max(np.abs(ours - keras))
  scale = np.max(np.abs(keras))
  assert error <= rtol * scale, (
      f'logits differ by {error:.3g}, more than {rtol:g} x {scale:.3g} '
      f'(the largest Keras logit)')
