"""The variables a published `*_quant` MobileNet v1 checkpoint holds,
derived from the original's float variables and contrib.quantize's naming.

    python compat/quant_manifest.py   # rewrites mobilenet_v1_quant_manifest.json

No checkpoint was at hand (no network): the names are derived, not read.
Inputs, both in compat/:

- `slim_checkpoint_manifest.json['mobilenet_v1']['variables']`: the
  original's float variables (width 1.0, 1001 classes), as it built them.
- `contrib_quantize.md` (what `tf.contrib.quantize` did): every `Conv2D`,
  `DepthwiseConv2dNative` or `MatMul` layer gets two float32 scalars
  `<layer>/weights_quant/{min,max}` for its weights and two
  `<layer>/act_quant/{min,max}` for the activation that follows it (Relu,
  Relu6, Identity, or the BiasAdd of a layer without activation), where
  `<layer>` is the scope of the layer's weights; batch-norm folding adds no
  variable; a QAT checkpoint is the float one plus these scalars and
  `global_step`.

Applied to MobileNet v1, whose every layer is such a layer and none feeds a
residual Add: each of its 28 weights variables (`weights` of Conv2d_0, the 13
pointwise layers and the logits, `depthwise_weights` of the 13 depthwise
layers, each depthwise layer a separate op and scope, so none is skipped)
gives 4 range scalars. A checkpoint saved by a training run may hold more:
the zero-debiased moving averages of the activation ranges
(`<layer>/act_quant/{min,max}/{biased,local_step}`, TensorFlow's
`assign_moving_average` with zero_debias, which contrib used); the eval
graph does not read them (`training_only`). The names do not depend on the
width or size: all 16 published MobileNet v1 `_quant` checkpoints hold them,
with the shapes of their width.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FLOAT_MANIFEST = os.path.join(HERE, 'slim_checkpoint_manifest.json')
QUANT_MANIFEST = os.path.join(HERE, 'mobilenet_v1_quant_manifest.json')

_WEIGHTS_LEAVES = ('weights', 'depthwise_weights')
_RANGE = ('min', 'max')


def quantized_layers(float_variables):
  """The scopes of the layers contrib.quantize quantized, in build order.

  Args:
    float_variables: [name, shape, dtype] of a MobileNet v1's variables.

  Returns:
    The scope of every `weights` / `depthwise_weights` variable.

  Raises:
    ValueError: for a separable conv in one scope (a `pointwise_weights`),
      whose depthwise half contrib skipped: not a MobileNet v1 layout.
  """
  scopes = []
  for name, _, _ in float_variables:
    scope, _, leaf = name.rpartition('/')
    if leaf == 'pointwise_weights':
      raise ValueError(f'{name}: a separable conv in one scope; this '
                       'derivation covers MobileNet v1 only')
    if leaf in _WEIGHTS_LEAVES:
      scopes.append(scope)
  return scopes


def range_variables(layers):
  """[name, [], 'float32'] of each layer's weights and activation ranges."""
  return [[f'{layer}/{kind}/{end}', [], 'float32'] for layer in layers
          for kind in ('weights_quant', 'act_quant') for end in _RANGE]


def training_only_variables(layers):
  """The zero-debiasing state of the activation ranges' moving averages."""
  return [[f'{layer}/act_quant/{end}/{state}', [], 'float32']
          for layer in layers for end in _RANGE
          for state in ('biased', 'local_step')]


def manifest():
  """The manifest's content (a dict ready for JSON)."""
  with open(FLOAT_MANIFEST) as f:
    entry = json.load(f)['mobilenet_v1']
  float_variables = [v for v in entry['variables']
                     if not v[0].endswith('global_step')]
  layers = quantized_layers(float_variables)
  return {
      '_derivation': ' '.join(__doc__.split()),
      'mobilenet_v1': {
          'checkpoints': 'mobilenet_v1_<width>_<size>_quant, all 16; '
                         'shapes here are width 1.0 (mobilenet_v1_1.0_*)',
          'num_classes': entry['num_classes'],
          'quantized_layers': layers,
          'variables': (float_variables + range_variables(layers)
                        + [['global_step', [], 'int64']]),
          'training_only': training_only_variables(layers),
      },
  }


def main():
  with open(QUANT_MANIFEST, 'w') as f:
    json.dump(manifest(), f, indent=1)
    f.write('\n')


if __name__ == '__main__':
  main()
