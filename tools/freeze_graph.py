"""Inlines checkpoint values into a GraphDef as constants (no bazel needed).

    python tools/freeze_graph.py \
      --input_graph=/tmp/inception_v3_inf_graph.pb --input_binary=true \
      --input_checkpoint=/tmp/checkpoints/inception_v3.ckpt \
      --output_graph=/tmp/frozen_inception_v3.pb \
      --output_node_names=InceptionV3/Predictions/Reshape_1

The flags are those of TensorFlow's freeze_graph tool. The result keeps only
what the output nodes need, with every variable replaced by a Const holding
its checkpoint value. A multi-label inference graph (see
export_inference_graph.py) freezes with
--output_node_names=MultiLabel/Predictions, the per-class sigmoid.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
import tensorflow as tf

from image_classifier import cli
from slim.variables import check_checkpoint_readable
from slim.variables import checkpoint_reader
from slim.variables import resolve_checkpoint_path
from tools import graph_io

tf1 = tf.compat.v1

flags.DEFINE_string('input_graph', '', 'GraphDef file to freeze.')
flags.DEFINE_boolean('input_binary', False,
                     'Whether --input_graph is binary (else text).')
flags.DEFINE_string('input_checkpoint', '',
                    'Checkpoint prefix (or a directory: its latest).')
flags.DEFINE_string('output_graph', '', 'Where the frozen GraphDef goes.')
flags.DEFINE_string('output_node_names', '',
                    'Comma-separated names of the output nodes.')
flags.DEFINE_boolean('output_text', False, 'Write a text GraphDef.')
flags.DEFINE_boolean('clear_devices', True, 'Remove device placements.')
flags.DEFINE_string('input_saver', '', 'Unused; accepted for compatibility.')
flags.DEFINE_string('restore_op_name', 'save/restore_all',
                    'Unused; accepted for compatibility.')
flags.DEFINE_string('filename_tensor_name', 'save/Const:0',
                    'Unused; accepted for compatibility.')
flags.DEFINE_string('initializer_nodes', '',
                    'Comma-separated nodes to run before freezing.')
flags.DEFINE_string('variable_names_whitelist', '',
                    'Comma-separated variables to freeze (default all).')
flags.DEFINE_string('variable_names_blacklist', '',
                    'Comma-separated variables not to freeze.')

FLAGS = flags.FLAGS

_VARIABLE_OPS = ('VariableV2', 'Variable', 'VarHandleOp')


def _split(names):
  return [n.strip() for n in names.split(',') if n.strip()]


def freeze_graph_def(graph_def, checkpoint_path, output_node_names,
                     clear_devices=True, initializer_nodes=(),
                     variable_names_whitelist=None,
                     variable_names_blacklist=None):
  """Returns `graph_def` with its variables replaced by checkpoint constants.

  Raises:
    ValueError: if an output node is not in the graph or a variable is not
      in the checkpoint.
  """
  if clear_devices:
    for node in graph_def.node:
      node.device = ''
  names = {node.name for node in graph_def.node}
  unknown = [n for n in output_node_names if n not in names]
  if not output_node_names or unknown:
    raise ValueError(f'--output_node_names: {unknown or "(empty)"} not in the '
                     'graph; see tools/summarize_graph.py for its outputs.')
  checkpoint_path = resolve_checkpoint_path(checkpoint_path)
  check_checkpoint_readable(checkpoint_path)
  reader = checkpoint_reader(checkpoint_path)
  with tf.Graph().as_default() as graph:
    tf1.import_graph_def(graph_def, name='')
    assigns = []
    for node in graph_def.node:
      if node.op not in _VARIABLE_OPS:
        continue
      if not reader.has_tensor(node.name):
        raise ValueError(f'Variable {node.name} of the graph is not in '
                         f'checkpoint {checkpoint_path}.')
      handle = graph.get_tensor_by_name(node.name + ':0')
      value = reader.get_tensor(node.name)
      if node.op == 'VarHandleOp':
        assigns.append(tf.raw_ops.AssignVariableOp(resource=handle,
                                                   value=value))
      else:
        assigns.append(tf1.assign(handle, value))
    with tf1.Session(graph=graph) as sess:
      if initializer_nodes:
        sess.run(list(initializer_nodes))
      sess.run(assigns)
      return tf1.graph_util.convert_variables_to_constants(
          sess, graph_def, list(output_node_names),
          variable_names_whitelist=variable_names_whitelist,
          variable_names_blacklist=variable_names_blacklist)


def main(unused_argv):
  for name in ('input_graph', 'input_checkpoint', 'output_graph',
               'output_node_names'):
    if not FLAGS[name].value:
      cli.fail(f'--{name} must be set.')
  cli.check_output_file(FLAGS.output_graph, '--output_graph')
  with cli.user_input('--input_graph'):
    graph_def = graph_io.read_graph_def(FLAGS.input_graph,
                                        binary=FLAGS.input_binary)
  with cli.user_input():
    frozen = freeze_graph_def(
        graph_def, FLAGS.input_checkpoint, _split(FLAGS.output_node_names),
        clear_devices=FLAGS.clear_devices,
        initializer_nodes=_split(FLAGS.initializer_nodes),
        variable_names_whitelist=_split(FLAGS.variable_names_whitelist) or None,
        variable_names_blacklist=_split(FLAGS.variable_names_blacklist) or None)
  graph_io.write_graph_def(frozen, FLAGS.output_graph,
                           as_text=FLAGS.output_text)
  print(f'{len(frozen.node)} ops written to {FLAGS.output_graph}.')


if __name__ == '__main__':
  cli.run(main)
