"""Keras layer name -> our variable names, one module per network family.

Each family module defines:

- `KERAS_WEIGHTS`: {our model name: records.KerasWeights} for every
  network of the family whose Keras twin computes the same function;
- `layer_map(model_name)`: {Keras layer name: (our variable names, or
  records.Target, in the order of that layer's Keras weights)} covering
  every Keras layer that has weights. A layer Keras has and we lack, or the
  reverse, is an import error, not a silent skip.

`FAMILIES` lists the modules; `family_of(model_name)` finds the one that
knows a network.
"""
import importlib

FAMILIES = (
    'efficientnet',
)


def _modules():
  return [importlib.import_module(f'tools.keras_maps.{name}')
          for name in FAMILIES]


def importable():
  """{model name: records.KerasWeights} of every importable network."""
  weights = {}
  for module in _modules():
    weights.update(module.KERAS_WEIGHTS)
  return weights


def family_of(model_name):
  """The family module whose `layer_map` knows `model_name`, or None."""
  for module in _modules():
    if model_name in module.KERAS_WEIGHTS:
      return module
  return None
