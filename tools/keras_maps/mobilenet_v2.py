"""MobileNet v2 <- keras.applications.MobileNetV2 (alpha 1.0, 1.4, 0.35).

The Keras model is the slim network: the same inverted residual blocks
(no expansion in the first), widths rounded to multiples of 8 the same way,
a 1280-wide last layer below alpha 1 (our finegrain_classification_mode)
and 1280 x alpha above, batch norm with scale and epsilon 1e-3, relu6.
Keras pads its stride-2 depthwise convolutions explicitly by (0, 1) on the
even maps of every published size, which is what 'SAME' pads; its
fully connected classifier is our 1 x 1 convolution. The files of the other
sizes (96 ... 192) import the same way.
"""
from tools.keras_maps import records

_URL = ('https://storage.googleapis.com/tensorflow/keras-applications/'
        'mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{}_224.h5')

# Our model name -> alpha. Keras records no hash for these files.
_ALPHAS = {'mobilenet_v2': '1.0', 'mobilenet_v2_140': '1.4',
           'mobilenet_v2_035': '0.35'}

KERAS_WEIGHTS = {
    name: records.KerasWeights(f'MobileNetV2(alpha={alpha})',
                               _URL.format(alpha))
    for name, alpha in _ALPHAS.items()
}

_NUM_BLOCKS = 17


def _conv_bn(layers, keras_name, keras_bn, scope, depthwise=False):
  kernel = 'depthwise_weights' if depthwise else 'weights'
  layers[keras_name] = (f'{scope}/{kernel}',)
  layers[keras_bn] = records.batch_norm(f'{scope}/BatchNorm')


def layer_map(unused_model_name):
  """The same layers at every width."""
  scope = 'MobilenetV2'
  layers = {}
  _conv_bn(layers, 'Conv1', 'bn_Conv1', f'{scope}/Conv')
  for block in range(_NUM_BLOCKS):
    ours = f'{scope}/expanded_conv' + (f'_{block}' if block else '')
    keras = f'block_{block}' if block else 'expanded_conv'
    if block:  # The first block does not expand.
      _conv_bn(layers, f'{keras}_expand', f'{keras}_expand_BN',
               f'{ours}/expand')
    _conv_bn(layers, f'{keras}_depthwise', f'{keras}_depthwise_BN',
             f'{ours}/depthwise', depthwise=True)
    _conv_bn(layers, f'{keras}_project', f'{keras}_project_BN',
             f'{ours}/project')
  _conv_bn(layers, 'Conv_1', 'Conv_1_bn', f'{scope}/Conv_1')
  layers['predictions'] = records.conv(f'{scope}/Logits/Conv2d_1c_1x1')
  return layers
