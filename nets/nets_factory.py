"""Builds any registered network by name: `get_network_fn('inception_v3', 1001)`.

`networks_map` and `arg_scopes_map` are derived from the one record per
network in `nets.registry`; a family module is imported the first time one of
its networks is asked for, so the factory stays cheap to import.
"""
import collections.abc
import functools
import importlib

import tensorflow as tf

import slim
from nets.registry import NETWORKS

__all__ = ['networks_map', 'arg_scopes_map', 'get_network_fn',
           'network_names']


class _LazyAttributeMap(collections.abc.Mapping):
  """{network name: attribute of its family module}, imported on access."""

  def __init__(self, field):
    self._field = field

  def __getitem__(self, name):
    spec = NETWORKS[name]
    module = importlib.import_module(spec.module)
    return getattr(module, getattr(spec, self._field))

  def __iter__(self):
    return iter(NETWORKS)

  def __len__(self):
    return len(NETWORKS)


networks_map = _LazyAttributeMap('function')
arg_scopes_map = _LazyAttributeMap('arg_scope')


def network_names():
  """The registered network names, sorted."""
  return sorted(NETWORKS)


def get_network_fn(name, num_classes, weight_decay=0.0, is_training=False,
                   batch_norm_decay=None, precision='float32'):
  """Returns network_fn(images, **kwargs) -> (logits, end_points).

  Args:
    name: a registered network name (see `network_names()`).
    num_classes: number of classes; 0 or None returns pre-logits features.
    weight_decay: L2 weight decay passed to the network's arg_scope.
    is_training: build the training graph (dropout, batch-norm updates).
    batch_norm_decay: the decay of the batch-norm moving statistics (a float
      or a scalar tensor); None keeps the network's own. It is passed to the
      arg_scope's decay parameter where it has one, and set on
      `slim.batch_norm` inside the arg_scope as well.
    precision: 'float32', or 'bfloat16' / 'float16' for mixed precision
      (see `slim.precision`): the images are cast to it, the layers compute
      in it on float32 variables, and the logits come back as float32.

  Returns:
    network_fn with attributes `default_image_size` and `is_video`. It
    applies the network's arg_scope and passes num_classes and is_training;
    other keyword arguments go to the network function.

  Raises:
    ValueError: if `name` is not registered.
  """
  if name not in NETWORKS:
    raise ValueError(f'Name of network unknown: {name!r}. Valid names: '
                     f'{", ".join(network_names())}.')
  spec = NETWORKS[name]
  func = networks_map[name]
  arg_scope_fn = arg_scopes_map[name]
  scope_kwargs = {'weight_decay': weight_decay}
  batch_norm_scope = {}
  if batch_norm_decay is not None:
    if spec.batch_norm_decay_parameter is not None:
      scope_kwargs[spec.batch_norm_decay_parameter] = batch_norm_decay
    batch_norm_scope = {'decay': batch_norm_decay}

  @functools.wraps(func)
  def network_fn(images, **kwargs):
    with slim.arg_scope(arg_scope_fn(**scope_kwargs)), \
        slim.arg_scope([slim.batch_norm], **batch_norm_scope), \
        slim.precision.compute_precision(precision):
      low = slim.precision.compute_dtype()
      if low is not None:
        images = tf.cast(images, low)
      logits, end_points = func(images, num_classes=num_classes,
                                is_training=is_training, **kwargs)
    return slim.precision.to_float32(logits), end_points

  network_fn.default_image_size = spec.default_image_size
  network_fn.is_video = spec.is_video
  return network_fn
