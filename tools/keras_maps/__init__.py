"""Keras layer name -> our variable names, one module per network family.

Each family module defines:

- `KERAS_WEIGHTS`: {our model name: records.KerasWeights} for every
  network of the family whose Keras twin computes the same function;
- `layer_map(model_name)`: {Keras layer name: (our variable names, or
  records.Target, in the order of that layer's Keras weights)} covering
  every Keras layer that has weights. A layer Keras has and we lack, or the
  reverse, is an import error, not a silent skip.

`FAMILIES` lists the modules; `family_of(model_name)` finds the one that
knows a network. `NOT_IMPORTABLE` records, for our networks that have a
keras.applications namesake computing another function, what differs;
`markdown_table()` is docs/networks.md's table of both.
"""
import importlib

FAMILIES = (
    'convnext',
    'inception',
    'mobilenet_v1',
    'mobilenet_v2',
    'mobilenet_v3',
    'vgg',
    'efficientnet_v2',
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


# Our network -> (its keras.applications namesake, why the two compute
# different functions, so that its weights cannot be imported).
_POOL1 = ('Keras pads the 112 x 112 map by 1 on every side before its 3 x 3 '
          'stride-2 max pool, ours pools \'SAME\' (nothing before, 1 after): '
          'every pool window is shifted by one pixel')
_RESNET_V1 = ('Keras strides in the first 1 x 1 convolution of a stage\'s '
              'first block (Caffe ResNet), ours in the 3 x 3 convolution of '
              'its last unit; and the pool1 padding differs as in ResNet v2')
_NASNET = ('Keras\' reduction cells zero-pad the map (0, 1) before their 3 x 3 '
           'stride-2 max and average pools, so the zeros enter the maxima and '
           'the averages\' counts at the bottom and right edges, where our '
           '\'SAME\' pools leave the padding out')
NOT_IMPORTABLE = {
    'nasnet_mobile': ('NASNetMobile', _NASNET),
    'nasnet_large': ('NASNetLarge', _NASNET),
    'resnet_v1_50': ('ResNet50', _RESNET_V1),
    'resnet_v1_101': ('ResNet101', _RESNET_V1),
    'resnet_v1_152': ('ResNet152', _RESNET_V1),
    'resnet_v2_50': ('ResNet50V2', _POOL1),
    'resnet_v2_101': ('ResNet101V2', _POOL1),
    'resnet_v2_152': ('ResNet152V2', _POOL1),
}


def markdown_table():
  """docs/networks.md's table: every network with a Keras namesake, whether
  its Keras ImageNet weights import, and how they differ or why not."""
  rows = ['| network | Keras application | importable |', '|---|---|---|']
  importable_weights = importable()
  for name in sorted(set(importable_weights) | set(NOT_IMPORTABLE)):
    if name in importable_weights:
      weights = importable_weights[name]
      cell = f'yes: [{weights.file_name}]({weights.url})'
      if weights.notes:
        cell += f'; {weights.notes}'
      rows.append(f'| {name} | {weights.application} | {cell} |')
    else:
      application, why = NOT_IMPORTABLE[name]
      rows.append(f'| {name} | {application} | no: {why} |')
  return '\n'.join(rows)
