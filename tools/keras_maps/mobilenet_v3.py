"""MobileNet v3 large / small (and minimalistic) <- keras.applications.
MobileNetV3Large / MobileNetV3Small.

The Keras models are ports of the slim networks: the same blocks, kernel
sizes, squeeze-excite widths, hard-swish, a 1 x 1 convolution with bias
after the pool and a convolutional classifier. Keras' built-in input
rescaling (x / 127.5 - 1) is our inception preprocessing's range, and its
squeeze-excite gate is relu6(x + 3) / 6 where ours multiplies by 0.16667
(a relative difference of 2e-5, well inside the parity tests' 1e-4). Keras names its layers after ours
(`expanded_conv_3_squeeze_excite_conv` is our
`expanded_conv_3/squeeze_excite/Conv`), so the map follows our layers.
"""
from tools.keras_maps import creation_order
from tools.keras_maps import records

_URL = ('https://storage.googleapis.com/tensorflow/keras-applications/'
        'mobilenet_v3/weights_mobilenet_v3_{}_224_1.0_float.h5')

# Our model name -> (Keras' constructor call, its weights' name, the
# file's md5 as Keras records it).
_WEIGHTS = {
    'mobilenet_v3_large': ('MobileNetV3Large', 'large',
                           '59e551e166be033d707958cf9e29a6a7'),
    'mobilenet_v3_small': ('MobileNetV3Small', 'small',
                           '8768d4c2e7dee89b9d02b2d03d65d862'),
    'mobilenet_v3_large_minimalistic': (
        'MobileNetV3Large(minimalistic=True)', 'large_minimalistic',
        '675e7b876c45c57e9e63e6d90a36599c'),
    'mobilenet_v3_small_minimalistic': (
        'MobileNetV3Small(minimalistic=True)', 'small_minimalistic',
        '99cd97fb2fcdad2bf028eb838de69e37'),
}

KERAS_WEIGHTS = {
    name: records.KerasWeights(application, _URL.format(weights), md5)
    for name, (application, weights, md5) in _WEIGHTS.items()
}

# Our scope (below MobilenetV3/) -> Keras' layer name, for those outside
# the blocks.
_OUTSIDE_BLOCKS = {'Conv': 'conv', 'Conv_1': 'conv_1', 'Conv_2': 'conv_2',
                   'Logits/Conv2d_1c_1x1': 'logits'}
# Inside a block: our sub-scope -> Keras' suffix.
_IN_BLOCK = {'expand': 'expand', 'depthwise': 'depthwise',
             'squeeze_excite/Conv': 'squeeze_excite_conv',
             'squeeze_excite/Conv_1': 'squeeze_excite_conv_1',
             'project': 'project'}


def _keras_name(scope):
  """`MobilenetV3/expanded_conv_3/project` -> `expanded_conv_3_project`."""
  inner = scope.split('/', 1)[1]
  if inner in _OUTSIDE_BLOCKS:
    return _OUTSIDE_BLOCKS[inner]
  block, part = inner.split('/', 1)
  return f'{block}_{_IN_BLOCK[part]}'


def layer_map(model_name):
  """Every convolution of ours with its batch norm (`<name>_bn`) where it
  has one; the squeeze-excite convolutions, Conv_2 and the logits have
  biases instead."""
  layers = {}
  for scope in creation_order.conv_scopes(model_name):
    name = _keras_name(scope)
    if 'squeeze_excite' in name or name in ('conv_2', 'logits'):
      layers[name] = records.conv(scope)
    else:
      kernel = 'depthwise_weights' if name.endswith('depthwise') else 'weights'
      layers[name] = (f'{scope}/{kernel}',)
      layers[f'{name}_bn'] = records.batch_norm(f'{scope}/BatchNorm')
  return layers
