"""Keras ImageNet weights -> a slim checkpoint of one of our networks.

The library behind `tools/import_keras_weights.py`: read the file layer by
layer (`keras_weights_file`), map every Keras layer's weights to our
variables (`keras_maps`, one module per family), check that every variable
of our network gets exactly one value of its shape, and save them under our
names, so that `--checkpoint_path` restores them like a published slim
checkpoint.

Every mismatch is a `KerasImportError` naming the first one (a file for
another network, a layer missing from a truncated file, a shape that
differs), never a partial checkpoint.

Two things a family may declare beyond its layer map: `AUTO_NAMED`, the
layer classes Keras names itself (`conv2d_17`), renumbered from 0 before
mapping (`canonical_names`); and `KerasWeights.fresh_scopes`, our variables
the Keras model lacks and no logit reads (an auxiliary head), written with
their initial values.
"""
import functools

import numpy as np
import tensorflow as tf

import slim
from image_classifier import fileio
from nets import nets_factory
from tools import keras_maps
from tools.keras_maps import records
from tools.keras_weights_file import KerasWeightsError
from tools.keras_weights_file import read_layer_weights

tf1 = tf.compat.v1


class KerasImportError(ValueError):
  """The Keras file cannot become a checkpoint of the network asked for."""


@functools.lru_cache(maxsize=None)
def network_variables(model_name, num_classes):
  """{name: shape} of the variables of `model_name` (a throwaway graph,
  built once per process: the largest networks take many seconds)."""
  network_fn = nets_factory.get_network_fn(model_name, num_classes)
  size = network_fn.default_image_size
  with tf.Graph().as_default():
    network_fn(tf1.placeholder(tf.float32, [1, size, size, 3]))
    return {v.op.name: tuple(v.shape.as_list())
            for v in tf1.global_variables()}


def checkpoint_values(model_name, keras_path):
  """Our variables' values from a Keras weights file.

  Args:
    model_name: a network that `keras_maps` knows.
    keras_path: a legacy `.h5` or Keras 3 `.weights.h5` file.

  Returns:
    {our variable name: numpy array}, one per variable of the network built
    with the weights' class count.

  Raises:
    KerasImportError: the network is not importable, or the file does not
      hold its weights (the message names the first mismatch).
  """
  family = keras_maps.family_of(model_name)
  if family is None:
    raise KerasImportError(
        f'no Keras weights can be imported into {model_name!r}; importable: '
        f'{", ".join(sorted(keras_maps.importable()))}')
  try:
    layers = read_layer_weights(keras_path)
  except KerasWeightsError as e:
    raise KerasImportError(str(e)) from None
  weights = family.KERAS_WEIGHTS[model_name]
  wanted = network_variables(model_name, weights.num_classes)
  layers = canonical_names(layers, getattr(family, 'AUTO_NAMED', ()))
  values = _map_layers(family.layer_map(model_name), layers, keras_path)
  values.update(initial_values(model_name, weights.num_classes,
                               weights.fresh_scopes))
  _check_complete(values, wanted, model_name, keras_path)
  return {name: _fit(value, wanted[name], name, keras_path)
          for name, value in values.items()}


def _auto_index(name, prefix):
  """1 + N of `<prefix>_N`, 0 for `<prefix>`, None for another name."""
  if name == prefix:
    return 0
  suffix = name[len(prefix) + 1:]
  if name.startswith(prefix + '_') and suffix.isdigit():
    return int(suffix) + 1
  return None


def canonical_names(layers, prefixes):
  """Renames the layers Keras named itself (`conv2d_17`) as a fresh Keras
  session would: `conv2d`, `conv2d_1`, ... in the order of their numbers.

  Keras numbers unnamed layers per class in the order they were made, from
  where the session's count stood (the published Inception v3 file starts
  at `conv2d_1`, a model built after another one further on); their order
  is the model's, their numbers are not.

  Args:
    layers: {Keras layer name: arrays} as read from the file.
    prefixes: the class prefixes whose names Keras made (`conv2d`,
      `batch_normalization`).

  Returns:
    `layers` with those names renumbered from 0 (`conv2d`, `conv2d_1`...).
  """
  renamed = dict(layers)
  for prefix in prefixes:
    numbered = sorted((index, name) for name in layers
                      if (index := _auto_index(name, prefix)) is not None)
    for name in (name for _, name in numbered):
      del renamed[name]
    for new_index, (_, name) in enumerate(numbered):
      renamed[prefix if new_index == 0 else f'{prefix}_{new_index}'] = (
          layers[name])
  return renamed


def _map_layers(layer_map, layers, keras_path):
  """{our name: Keras array} through `layer_map`; every Keras layer with
  weights must be mapped and every mapped layer present."""
  unmapped = [name for name in layers if name not in layer_map]
  if unmapped:
    raise KerasImportError(
        f'{keras_path} has weights for layer {unmapped[0]!r}, which this '
        f'network does not have (weights of another network?)')
  values = {}
  for layer_name, names in layer_map.items():
    if layer_name not in layers:
      raise KerasImportError(
          f'{keras_path} has no weights for layer {layer_name!r} (weights of '
          f'another network, or a truncated file?)')
    arrays = layers[layer_name]
    mapped = records.targets(names)
    if len(arrays) != len(mapped):
      raise KerasImportError(
          f'{keras_path}: layer {layer_name!r} has {len(arrays)} weights, '
          f'expected {len(mapped)}')
    for target, array in zip(mapped, arrays):
      if isinstance(target, records.Fixed):
        _check_fixed(target, array, layer_name, keras_path)
        continue
      if target.transform is not None:
        array = target.transform(array)
      values[target.variable] = np.asarray(array, np.float32)
  return values


def _in_scopes(names, scopes):
  return [name for name in names
          if any(name.startswith(scope + '/') for scope in scopes)]


@functools.lru_cache(maxsize=None)
def initial_values(model_name, num_classes, scopes):
  """{name: its initial value} for the variables of `model_name` under
  `scopes` (seeded, so that two imports write the same checkpoint)."""
  names = _in_scopes(network_variables(model_name, num_classes), scopes)
  if not names:
    return {}
  network_fn = nets_factory.get_network_fn(model_name, num_classes)
  size = network_fn.default_image_size
  with tf.Graph().as_default():
    tf1.set_random_seed(0)
    network_fn(tf1.placeholder(tf.float32, [1, size, size, 3]))
    variables = {v.op.name: v for v in tf1.global_variables()}
    chosen = [variables[name] for name in names]
    with tf1.Session() as sess:
      sess.run(tf1.variables_initializer(chosen))
      return dict(zip(names, sess.run(chosen)))


def _check_fixed(fixed, array, layer_name, keras_path):
  if fixed.value is None:
    return
  expected = np.asarray(fixed.value, np.float64)
  if (np.shape(array) != expected.shape and expected.size != np.size(array)) or (
      not np.allclose(np.reshape(array, expected.shape), expected,
                      atol=fixed.atol, rtol=0)):
    raise KerasImportError(
        f'{keras_path}: layer {layer_name!r} holds {np.ravel(array)[:4]}..., '
        f'which our network fixes at {expected.ravel()[:4]}...')


def _check_complete(values, wanted, model_name, keras_path):
  missing = [name for name in wanted if name not in values]
  if missing:
    raise KerasImportError(
        f'{keras_path} leaves {len(missing)} variables of {model_name} '
        f'without a value, the first {missing[0]!r}')
  extra = [name for name in values if name not in wanted]
  if extra:
    raise KerasImportError(
        f'the Keras map of {model_name} names {extra[0]!r}, which the '
        f'network does not have')


def _fit(value, shape, name, keras_path):
  """The value in the variable's shape: equal, or equal up to leading 1s."""
  if value.shape == shape:
    return value
  if value.size == int(np.prod(shape)) and (
      tuple(d for d in shape if d != 1) == tuple(d for d in value.shape
                                                 if d != 1)):
    return value.reshape(shape)
  raise KerasImportError(
      f'{keras_path}: {name} has shape {list(value.shape)} in the file, '
      f'{list(shape)} in the network')


def write_checkpoint(values, checkpoint_path):
  """Saves {name: array} as a TF1 checkpoint at `checkpoint_path`.

  Saved under a temporary prefix, then the data file and last the index are
  renamed into place: a reader finds the index only when the data it points
  to is complete, and a kill leaves no checkpoint that looks whole. Values
  are fed, not embedded, so the largest networks stay under the 2 GB graph
  limit.
  """
  folder = fileio.parent(checkpoint_path)
  if folder:
    tf.io.gfile.makedirs(folder)
  partial = f'{checkpoint_path}.partial'
  with tf.Graph().as_default():
    feeds, variables = {}, []
    for name, value in values.items():
      placeholder = tf1.placeholder(tf.float32, value.shape)
      variables.append(slim.variables.variable(
          name, initializer=placeholder, trainable=False))
      feeds[placeholder] = value
    saver = tf1.train.Saver(variables, write_version=tf1.train.SaverDef.V2)
    with tf1.Session() as sess:
      sess.run(tf1.variables_initializer(variables), feeds)
      saver.save(sess, partial, write_meta_graph=False, write_state=False)
  for suffix in ('.data-00000-of-00001', '.index'):
    tf.io.gfile.rename(partial + suffix, checkpoint_path + suffix,
                       overwrite=True)
