"""Writes a network's inference GraphDef: the research/slim command line.

    python export_inference_graph.py --model_name=inception_v3 \
      --output_file=/tmp/inception_v3_inf_graph.pb

The graph has a float32 placeholder named `input` of shape
[batch_size, image_size, image_size, channels] ([batch, frames, H, W, C] for
video models) and the network's nodes under the original names
(e.g. `InceptionV3/Predictions/Reshape_1`), so freeze_graph
(tools/freeze_graph.py) and label_image (tools/label_image.py) take the same
--output_node_names / --output_layer as before. It holds no weights.
Its variables are reference variables (VariableV2), as the original's were,
so TensorFlow's own `python -m tensorflow.python.tools.freeze_graph` freezes
it too, with a checkpoint that training wrote (see
`slim.variables.reference_variables`).

For a multi-label dataset (several labels per image, such as
`shapes_multi`), the output is `MultiLabel/Predictions`, the sigmoid of the
logits: one probability per class (the network's softmax node stays, unused).

Unlike the original, it needs no network and no dataset files: the class
count comes from the dataset's descriptor (only `custom` and `shapes` read
it from --dataset_dir/dataset_meta.json).
"""

# Before TensorFlow loads: sets TF_CPP_MIN_LOG_LEVEL unless the user did.
from image_classifier import tf_env  # pylint: disable=unused-import

from absl import flags
import tensorflow as tf

import slim
from image_classifier import cli
from image_classifier import network
from flag_groups import common_flags
from flag_groups import compute_flags
from nets.registry import NETWORKS
from tools import graph_io

tf1 = tf.compat.v1

common_flags.define_export_flags(__name__)
compute_flags.define_precision_flag(__name__)
flags.DEFINE_boolean('is_training', False, 'Export the training graph.')
flags.DEFINE_string('output_file', '', 'Where to save the resulting file.')
flags.DEFINE_bool('write_text_graphdef', False, 'Write a text GraphDef.')

FLAGS = flags.FLAGS


# Shared with tools/export_saved_model.py and classify_images.py; kept
# under these names here, where they always were.
dataset_num_classes = network.dataset_num_classes
build_inference_graph = network.build_inference_graph


def main(argv):
  cli.check_no_arguments(argv)
  if not FLAGS.output_file:
    cli.fail('You must supply the path to save to with --output_file.')
  cli.check_output_file(FLAGS.output_file, '--output_file')
  network.check_model_name(FLAGS.model_name)
  is_video = FLAGS.is_video_model or NETWORKS[FLAGS.model_name].is_video
  if is_video and not FLAGS.num_frames:
    cli.fail(f'--model_name={FLAGS.model_name} is a video model: pass '
             '--num_frames (and --is_video_model).')
  with cli.user_input():
    num_classes = dataset_num_classes(FLAGS.dataset_name, FLAGS.dataset_dir)
    multi_label = network.is_multi_label(FLAGS.dataset_name,
                                         FLAGS.dataset_dir)
  with tf.Graph().as_default() as graph, slim.variables.reference_variables():
    build_inference_graph(
        FLAGS.model_name, num_classes - FLAGS.labels_offset,
        is_training=FLAGS.is_training, image_size=FLAGS.image_size,
        batch_size=FLAGS.batch_size, is_video_model=is_video,
        num_frames=FLAGS.num_frames, use_grayscale=FLAGS.use_grayscale,
        precision=FLAGS.precision, quantize=FLAGS.quantize,
        multi_label=multi_label)
    graph_def = graph.as_graph_def()
  graph_io.write_graph_def(graph_def, FLAGS.output_file,
                           as_text=FLAGS.write_text_graphdef)
  print(f'Wrote the {FLAGS.model_name} inference graph ({len(graph_def.node)} '
        f'ops, {num_classes - FLAGS.labels_offset} classes) to '
        f'{FLAGS.output_file}.')
  if multi_label:
    print(f'{FLAGS.dataset_name} has several labels per image: the output '
          f'{network.MULTI_LABEL_PREDICTIONS} is the sigmoid of the logits, '
          'one probability per class.')


if __name__ == '__main__':
  cli.run(main)
