"""keras.applications.EfficientNetV2B0 ... L -> nets/efficientnet_v2.py.

Keras names a block's layers '<block>_<layer>' with the same block names
as ours ('block4a'); the Keras model's Rescaling and Normalization layers
hold no weights (their constants are part of our network function), its
Dense 'predictions' becomes our 1x1 logits convolution.
"""
from tools.keras_maps import records

_BASE_URL = ('https://storage.googleapis.com/tensorflow/keras-applications/'
             'efficientnet_v2/')

# Our variant -> (Keras constructor, Keras model name, md5 of the with-top
# file), as keras/src/applications/efficientnet_v2.py records them.
_KERAS = {
    'b0': ('EfficientNetV2B0', 'efficientnetv2-b0',
           '21ecbf6da12460d5c40bb2f29ceb2188'),
    'b1': ('EfficientNetV2B1', 'efficientnetv2-b1',
           '069f0534ff22adf035c89e2d9547a9dc'),
    'b2': ('EfficientNetV2B2', 'efficientnetv2-b2',
           '424e49f28180edbde1e94797771950a7'),
    'b3': ('EfficientNetV2B3', 'efficientnetv2-b3',
           '1f1fc43bd98a6e4fd8fdfd551e02c7a0'),
    's': ('EfficientNetV2S', 'efficientnetv2-s',
          'e1d88a8495beba45748fedd0cecbe016'),
    'm': ('EfficientNetV2M', 'efficientnetv2-m',
          'a3bf6aa3276309f4fc6a34aa114c95cd'),
    'l': ('EfficientNetV2L', 'efficientnetv2-l',
          '27e6d408b53c7ebc868fefa357689935'),
}

KERAS_WEIGHTS = {
    f'efficientnet_v2_{variant}': records.KerasWeights(
        application=application, url=f'{_BASE_URL}{keras_name}.h5',
        file_hash=md5)
    for variant, (application, keras_name, md5) in _KERAS.items()
}

_BATCH_NORM = ('gamma', 'beta', 'moving_mean', 'moving_variance')


def _conv_bn(keras_conv, keras_bn, scope, kernel='weights'):
  """A Keras conv + batch norm pair -> our conv `scope` with its BatchNorm."""
  return {
      keras_conv: (f'{scope}/{kernel}',),
      keras_bn: tuple(f'{scope}/BatchNorm/{w}' for w in _BATCH_NORM),
  }


def _block_map(block, scope):
  """The layers of one Keras block ('block4a_...') -> our block `scope`."""
  keras = f'{block.name}_'
  layers = {}
  if block.expand_ratio != 1:
    layers.update(_conv_bn(f'{keras}expand_conv', f'{keras}expand_bn',
                           f'{scope}/expand_conv'))
  if not block.fused:
    layers.update(_conv_bn(f'{keras}dwconv2', f'{keras}bn',
                           f'{scope}/depthwise_conv', 'depthwise_weights'))
  if block.se_ratio > 0:
    for keras_layer, ours in (('se_reduce', 'reduce'), ('se_expand', 'expand')):
      layers[f'{keras}{keras_layer}'] = (
          f'{scope}/squeeze_excite/{ours}/weights',
          f'{scope}/squeeze_excite/{ours}/biases')
  layers.update(_conv_bn(f'{keras}project_conv', f'{keras}project_bn',
                         f'{scope}/project_conv'))
  return layers


def layer_map(model_name):
  """{Keras layer name: our variable names, in the layer's weight order}."""
  from nets import efficientnet_v2  # pylint: disable=g-import-not-at-top
  variant = model_name[len('efficientnet_v2_'):]
  layers = _conv_bn('stem_conv', 'stem_bn', f'{model_name}/stem')
  for block in efficientnet_v2.block_plan(variant):
    layers.update(_block_map(block, f'{model_name}/{block.name}'))
  layers.update(_conv_bn('top_conv', 'top_bn', f'{model_name}/top'))
  layers['predictions'] = (f'{model_name}/Logits/Conv2d_1c_1x1/weights',
                           f'{model_name}/Logits/Conv2d_1c_1x1/biases')
  return layers
