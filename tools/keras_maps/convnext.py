"""Keras ConvNeXt weights -> nets/convnext.py's variables.

keras.applications.ConvNeXtTiny ... XLarge with their built-in
normalization (include_preprocessing=True, which their ImageNet weights
require) compute the same function as our networks: both take [0, 255]
pixels. The normalization's mean and variance are constructor arguments
in Keras, not weights, so the files hold none.

Keras names its layers `<model>_stem_conv`, `<model>_stage_<s>_block_<b>_
<layer>`, `<model>_downsampling_{layernorm,conv}_<i>` (downsampling `i`
opens our stage `i + 1`) and `<model>_head_{layernorm,dense}`; the stem and
downsampling layers sit in nested Sequentials, read by their inner names.
The 7x7 depthwise convolution is a grouped Conv2D in Keras, kernel
[7, 7, 1, channels]; ours is [7, 7, channels, 1].
"""
import numpy as np

from tools.keras_maps import records

_BASE = 'https://storage.googleapis.com/tensorflow/keras-applications/convnext/'

# Per network: (the Keras application, the SHA-256 of its with-top file), as
# keras/src/applications/convnext.py records them.
_APPLICATIONS = {
    'convnext_tiny': (
        'ConvNeXtTiny',
        '8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff'),
    'convnext_small': (
        'ConvNeXtSmall',
        'ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c'),
    'convnext_base': (
        'ConvNeXtBase',
        '52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6'),
    'convnext_large': (
        'ConvNeXtLarge',
        '070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6'),
    'convnext_xlarge': (
        'ConvNeXtXLarge',
        'c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee'),
}

KERAS_WEIGHTS = {
    name: records.KerasWeights(application, f'{_BASE}{name}.h5', file_hash)
    for name, (application, file_hash) in _APPLICATIONS.items()}


def grouped_to_depthwise(kernel):
  """A grouped-conv kernel [h, w, 1, c] as a depthwise one [h, w, c, 1]."""
  return np.transpose(kernel, (0, 1, 3, 2))


def _conv(scope):
  return (f'{scope}/weights', f'{scope}/biases')


def _layer_norm(scope):
  return (f'{scope}/gamma', f'{scope}/beta')


def _block(keras, ours):
  return {
      f'{keras}_depthwise_conv': (
          records.Target(f'{ours}/depthwise_conv/depthwise_weights',
                         grouped_to_depthwise),
          f'{ours}/depthwise_conv/biases'),
      f'{keras}_layernorm': _layer_norm(f'{ours}/layer_norm'),
      f'{keras}_pointwise_conv_1': _conv(f'{ours}/pointwise_conv_1'),
      f'{keras}_pointwise_conv_2': _conv(f'{ours}/pointwise_conv_2'),
      f'{keras}_layer_scale': (f'{ours}/layer_scale/gamma',),
  }


def layer_map(model_name):
  """{Keras layer name: our variables, in the Keras weight order}."""
  # Imported here: KERAS_WEIGHTS is read without TensorFlow
  # (tools/download_checkpoint.py), the layer map only next to a graph.
  from nets import convnext  # pylint: disable=g-import-not-at-top
  layers = {
      f'{model_name}_stem_conv': _conv(f'{model_name}/stem/conv'),
      f'{model_name}_stem_layernorm': _layer_norm(
          f'{model_name}/stem/layer_norm'),
  }
  for stage, blocks in enumerate(
      convnext.CONFIGS[model_name].stage_blocks):
    ours = f'{model_name}/stage_{stage}'
    if stage:
      keras = f'{model_name}_downsampling'
      layers[f'{keras}_layernorm_{stage - 1}'] = _layer_norm(
          f'{ours}/downsample/layer_norm')
      layers[f'{keras}_conv_{stage - 1}'] = _conv(f'{ours}/downsample/conv')
    for b in range(blocks):
      layers.update(_block(f'{model_name}_stage_{stage}_block_{b}',
                           f'{ours}/block_{b}'))
  layers[f'{model_name}_head_layernorm'] = _layer_norm(
      f'{model_name}/head/layer_norm')
  layers[f'{model_name}_head_dense'] = _conv(f'{model_name}/Logits')
  return layers
