"""Lists a GraphDef's inputs, likely outputs, op counts and parameters.

    python tools/summarize_graph.py --in_graph=/tmp/frozen_inception_v3.pb

Like TensorFlow's summarize_graph tool: what to pass as --input_layer /
--output_layer / --output_node_names, and how big the model is.
"""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
import numpy as np
import tensorflow as tf

from image_classifier import cli
from tools import graph_io

flags.DEFINE_string('in_graph', '', 'GraphDef file (binary or text).')

FLAGS = flags.FLAGS

_VARIABLE_OPS = ('VariableV2', 'Variable', 'VarHandleOp')
# Ops that are never an output of interest even when nothing consumes them.
_NOT_OUTPUTS = ('Const', 'NoOp', 'Assign', 'AssignVariableOp', 'SaveV2',
                'RestoreV2', 'Placeholder', 'VarIsInitializedOp',
                'ReadVariableOp') + _VARIABLE_OPS


def _shape(node, attr):
  if attr not in node.attr:
    return None
  return [d.size for d in node.attr[attr].shape.dim]


def summarize(graph_def):
  """A dict with inputs, outputs, variables, parameter counts, op counts."""
  consumed = set()
  for node in graph_def.node:
    for name in node.input:
      consumed.add(name.lstrip('^').split(':')[0])
  inputs = [(n.name, tf.as_dtype(n.attr['dtype'].type).name,
             _shape(n, 'shape')) for n in graph_def.node
            if n.op == 'Placeholder']
  outputs = [(n.name, n.op) for n in graph_def.node
             if n.name not in consumed and n.op not in _NOT_OUTPUTS
             and not n.name.startswith(('save/', 'init'))]
  variables = [(n.name, _shape(n, 'shape')) for n in graph_def.node
               if n.op in _VARIABLE_OPS]
  const_params = sum(
      int(np.prod([d.size for d in n.attr['value'].tensor.tensor_shape.dim]))
      for n in graph_def.node
      if n.op == 'Const' and n.attr['value'].tensor.dtype in (
          tf.float32.as_datatype_enum, tf.float16.as_datatype_enum,
          tf.bfloat16.as_datatype_enum, tf.float64.as_datatype_enum))
  variable_params = sum(int(np.prod(shape or [0])) for _, shape in variables)
  return {
      'inputs': inputs,
      'outputs': outputs,
      'variables': variables,
      'const_parameters': const_params,
      'variable_parameters': variable_params,
      'op_counts': collections.Counter(n.op for n in graph_def.node),
  }


def _fmt_shape(shape):
  return '[' + ','.join(str(d) for d in shape) + ']' if shape else '?'


def main(unused_argv):
  if not FLAGS.in_graph:
    cli.fail('--in_graph must be set.')
  with cli.user_input('--in_graph'):
    graph_def = graph_io.read_graph_def(FLAGS.in_graph)
  s = summarize(graph_def)
  print(f'Found {len(s["inputs"])} possible inputs: ' + ' '.join(
      f'(name={n}, type={t}, shape={_fmt_shape(shape)})'
      for n, t, shape in s['inputs']))
  if s['variables']:
    print(f'Found {len(s["variables"])} variables.')
  else:
    print('No variables spotted.')
  print(f'Found {len(s["outputs"])} possible outputs: ' + ' '.join(
      f'(name={n}, op={op})' for n, op in s['outputs']))
  print(f'Found {s["const_parameters"]:,} const parameters and '
        f'{s["variable_parameters"]:,} variable parameters.')
  print('Op types used: ' + ', '.join(
      f'{count} {op}' for op, count in s['op_counts'].most_common()))


if __name__ == '__main__':
  cli.run(main)
