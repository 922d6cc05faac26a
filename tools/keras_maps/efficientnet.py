"""Keras EfficientNetB0-B7 layers -> nets/efficientnet.py variables.

Keras names a block's layers `block<i><letter>_<layer>` (`block2a_expand_conv`)
and ours live in scope `efficientnet_bN/block<i><letter>/<layer>`; the stem
and top are `stem_conv`/`stem_bn` and `top_conv`/`top_bn` there,
`stem/conv` and `top/conv` here, and Keras' `predictions` Dense layer is our
1x1 logits convolution. The input normalisation's mean and variance are
constants of our network function (`records.Fixed`): the published files
hold ImageNet's mean and, as variance, its standard deviation (Keras adds a
Rescaling by 1/sqrt(stddev) to make up for that).

Pure data at import (no TensorFlow): `layer_map` reads the stage table of
nets/efficientnet.py when called.
"""
from tools.keras_maps import records

_URL = 'https://storage.googleapis.com/keras-applications/efficientnet{}.h5'

# Keras' WEIGHTS_HASHES, the with-top file of each (md5).
_HASHES = {
    'b0': '902e53a9f72be733fc0bcb005b3ebbac',
    'b1': '1d254153d4ab51201f1646940f018540',
    'b2': 'b15cce36ff4dcbd00b6dd88e7857a6ad',
    'b3': 'ffd1fdc53d0ce67064dc6a9c7960ede0',
    'b4': '18c95ad55216b8f92d7e70b3a046e2fc',
    'b5': 'ace28f2a6363774853a83a0b21b9421a',
    'b6': '165f6e37dce68623721b423839de8be5',
    'b7': '8c03f828fec3ef71311cd463b6759d99',
}

KERAS_WEIGHTS = {
    f'efficientnet_{member}': records.KerasWeights(
        application=f'EfficientNet{member.upper()}',
        url=_URL.format(member), file_hash=file_hash)
    for member, file_hash in _HASHES.items()
}

_BATCH_NORM = ('gamma', 'beta', 'moving_mean', 'moving_variance')


def _conv_bn(keras_conv, keras_bn, scope, kernel='weights'):
  """A bias-free conv and its batch norm: {Keras layer: our variables}."""
  return {keras_conv: (f'{scope}/{kernel}',),
          keras_bn: tuple(f'{scope}/BatchNorm/{name}' for name in _BATCH_NORM)}


def _block_map(block, scope):
  """The layers of one MBConv block (`efficientnet.expand_blocks` entry)."""
  keras = f'{block.name}_'
  ours = f'{scope}/{block.name}'
  layers = {}
  if block.expand_ratio != 1:
    layers.update(_conv_bn(keras + 'expand_conv', keras + 'expand_bn',
                           ours + '/expand_conv'))
  layers.update(_conv_bn(keras + 'dwconv', keras + 'bn', ours + '/dwconv',
                         kernel='depthwise_weights'))
  if 0 < block.se_ratio <= 1:
    for part in ('se_reduce', 'se_expand'):
      layers[keras + part] = (f'{ours}/{part}/weights',
                              f'{ours}/{part}/biases')
  layers.update(_conv_bn(keras + 'project_conv', keras + 'project_bn',
                         ours + '/project_conv'))
  return layers


def layer_map(model_name):
  """{Keras layer name: our variables, in the Keras weights' order}."""
  # Imported here: the records above stay readable without TensorFlow.
  from nets import efficientnet  # pylint: disable=g-import-not-at-top
  variant = efficientnet.VARIANTS[model_name]
  mean = efficientnet.IMAGENET_MEAN_RGB
  stddev = efficientnet.IMAGENET_STDDEV_RGB
  layers = {'normalization': (records.Fixed(mean), records.Fixed(stddev),
                              records.Fixed(None))}
  layers.update(_conv_bn('stem_conv', 'stem_bn', f'{model_name}/stem/conv'))
  for block in efficientnet.expand_blocks(variant.width_coefficient,
                                          variant.depth_coefficient, 0.0):
    layers.update(_block_map(block, model_name))
  layers.update(_conv_bn('top_conv', 'top_bn', f'{model_name}/top/conv'))
  logits = f'{model_name}/Logits/Conv2d_1c_1x1'
  layers['predictions'] = (f'{logits}/weights', f'{logits}/biases')
  return layers
