"""Keras twins of our networks for parity tests: a `keras.applications`
model with seeded random weights, saved as the published weights are.

Tests only (the product never imports Keras). The twin is built the way the
published weights are used: `weights='imagenet', classifier_activation=None`,
loading a legacy `.h5` we wrote ourselves (Keras' file fetch is pointed at
it, so nothing is downloaded). Batch-norm statistics, gammas, betas, biases
and layer scales are randomised too (Keras initialises them to constants
that would hide a swapped mean and variance or a missing bias); kernels keep
Keras' seeded initialisers.
"""
import os
import unittest.mock

import numpy as np

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')

import keras  # pylint: disable=g-import-not-at-top
from keras.src.legacy.saving import legacy_h5_format  # pylint: disable=g-import-not-at-top
from keras.src.utils import file_utils  # pylint: disable=g-import-not-at-top
import h5py  # pylint: disable=g-import-not-at-top

# Weights that Keras initialises to constants; randomised so that parity
# tests see every one of them.
_RANDOMISED = {
    'gamma': lambda rng, shape: rng.uniform(0.5, 1.5, shape),
    'moving_variance': lambda rng, shape: rng.uniform(0.5, 1.5, shape),
    'beta': lambda rng, shape: rng.normal(0.0, 0.1, shape),
    'moving_mean': lambda rng, shape: rng.normal(0.0, 0.1, shape),
    'bias': lambda rng, shape: rng.normal(0.0, 0.1, shape),
}


class KerasTwin:
  """A keras.applications model and the two weight files it loads from.

  Attributes:
    model: the model built with weights='imagenet' from `legacy_h5`.
    legacy_h5: the legacy `.h5` file (the published layout).
    weights_h5: the same weights in Keras 3's `.weights.h5` layout.
  """

  def __init__(self, model, legacy_h5, weights_h5):
    self.model = model
    self.legacy_h5 = legacy_h5
    self.weights_h5 = weights_h5

  def logits(self, images):
    """The model's output on `images` (already through preprocess_input)."""
    return np.asarray(self.model(images, training=False))


def _randomise(model, seed):
  rng = np.random.default_rng(seed)
  for layer in model.layers:
    if type(layer).__name__ in ('Normalization', 'Rescaling'):
      continue  # The fixed input normalisation of the published weights.
    for weight in layer.weights:
      name = weight.path.split('/')[-1]
      if name in _RANDOMISED:
        weight.assign(_RANDOMISED[name](rng, weight.shape).astype('float32'))
      elif 'gamma' in name or 'layer_scale' in weight.path:
        # ConvNeXt's LayerScale names its one weight 'variable'.
        weight.assign(rng.uniform(0.1, 1.0, weight.shape).astype('float32'))


def make_twin(constructor, tmpdir, seed=0, constants=None, **kwargs):
  """Builds a `keras.applications` twin with seeded random weights.

  Args:
    constructor: e.g. `keras.applications.EfficientNetB0`.
    tmpdir: a folder for the two weight files.
    seed: seeds Keras' initialisers and the randomised weights.
    constants: {Keras layer name: [arrays]}, weights the published files
      hold at fixed values, set as they are there (EfficientNet's input
      `normalization`: ImageNet's mean and stddev, and a count).
    **kwargs: more arguments of the constructor (input_shape, alpha, ...).

  Returns:
    A KerasTwin whose model was built with weights='imagenet' from the
    legacy file.
  """
  # A fresh session restarts Keras' automatic layer names: a second model
  # in one process would otherwise have `normalization_1`, a layer name the
  # published files do not have.
  keras.backend.clear_session()
  keras.utils.set_random_seed(seed)
  kwargs.setdefault('classifier_activation', None)
  source = constructor(weights=None, **kwargs)
  _randomise(source, seed)
  for layer_name, arrays in (constants or {}).items():
    source.get_layer(layer_name).set_weights(arrays)
  legacy_h5 = os.path.join(str(tmpdir), f'{source.name}_legacy.h5')
  with h5py.File(legacy_h5, 'w') as f:
    legacy_h5_format.save_weights_to_hdf5_group(f, source)
  del source
  keras.backend.clear_session()

  def fetch_local(*unused_args, **unused_kwargs):
    return legacy_h5

  with unittest.mock.patch.object(file_utils, 'get_file', fetch_local):
    model = constructor(weights='imagenet', **kwargs)
  weights_h5 = os.path.join(str(tmpdir), f'{model.name}.weights.h5')
  model.save_weights(weights_h5)
  return KerasTwin(model, legacy_h5, weights_h5)
