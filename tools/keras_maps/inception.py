"""Inception v3 <- keras.applications.InceptionV3, Inception-ResNet v2 <-
keras.applications.InceptionResNetV2.

Both Keras models are ports of the slim networks: the same convolutions
(no bias, batch norm without scale, epsilon 1e-3), paddings, branch order
and residual scales, and a global average pool where ours pools over the
whole 8 x 8 map. Keras names most of their layers itself (`conv2d_17`,
`batch_normalization_17`), in the order it makes them, which is the order
ours makes the same layers (`creation_order`); the importer renumbers them
from 0 first (`AUTO_NAMED`). The Keras models have no auxiliary head: ours
(`AuxLogits`, read only by the training loss) gets its initial values.
"""
import re

from tools.keras_maps import creation_order
from tools.keras_maps import records

_KERAS = 'https://storage.googleapis.com/tensorflow/keras-applications/'

KERAS_WEIGHTS = {
    'inception_v3': records.KerasWeights(
        'InceptionV3',
        _KERAS + 'inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5',
        '9a0d58056eeedaa3f26cb7ebd46da564',
        fresh_scopes=('InceptionV3/AuxLogits',)),
    'inception_resnet_v2': records.KerasWeights(
        'InceptionResNetV2',
        _KERAS + 'inception_resnet_v2/'
        'inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5',
        'e693bd0210a403b3192acc6073ad2e96',
        fresh_scopes=('InceptionResnetV2/AuxLogits',)),
}

AUTO_NAMED = ('conv2d', 'batch_normalization')

# Our scope -> the name Keras gives the layer, for the layers it names.
_INCEPTION_V3_NAMED = {
    'InceptionV3/Logits/Conv2d_1c_1x1': 'predictions',
}
_INCEPTION_RESNET_V2_NAMED = {
    'InceptionResnetV2/Logits/Logits': 'predictions',
    'InceptionResnetV2/Conv2d_7b_1x1': 'conv_7b',
    # The last block8 is outside the repeated ones in ours, the 10th in
    # Keras.
    'InceptionResnetV2/Block8/Conv2d_1x1': 'block8_10_conv',
}
# A residual block's up-projection (with bias, no batch norm):
# Repeat_1/block17_3/Conv2d_1x1 is Keras' block17_3_conv.
_BLOCK_UP = re.compile(r'/(block\d+_\d+)/Conv2d_1x1$')


def _keras_named(model_name, scope):
  """Keras' name for our layer at `scope`, None for a layer Keras numbers."""
  if model_name == 'inception_v3':
    return _INCEPTION_V3_NAMED.get(scope)
  if scope in _INCEPTION_RESNET_V2_NAMED:
    return _INCEPTION_RESNET_V2_NAMED[scope]
  up = _BLOCK_UP.search(scope)
  return f'{up.group(1)}_conv' if up else None


def layer_map(model_name):
  """Numbered layers in creation order, named ones by name."""
  fresh = KERAS_WEIGHTS[model_name].fresh_scopes
  layers, index = {}, 0
  for scope in creation_order.conv_scopes(model_name):
    if any(scope.startswith(f + '/') for f in fresh):
      continue
    name = _keras_named(model_name, scope)
    if name == 'conv_7b':  # Named, but with a batch norm like the others.
      layers['conv_7b'] = (f'{scope}/weights',)
      layers['conv_7b_bn'] = records.batch_norm(f'{scope}/BatchNorm',
                                                scale=False)
    elif name is not None:  # With bias, no batch norm.
      layers[name] = records.conv(scope)
    else:
      layers[creation_order.numbered('conv2d', index)] = (f'{scope}/weights',)
      layers[creation_order.numbered('batch_normalization', index)] = (
          records.batch_norm(f'{scope}/BatchNorm', scale=False))
      index += 1
  return layers
