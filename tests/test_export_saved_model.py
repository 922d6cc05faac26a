"""tools/export_saved_model: SavedModel and TFLite give the checkpoint's
probabilities."""
import os

import numpy as np
import pytest
import tensorflow as tf

import export_inference_graph
import slim
from tools import export_saved_model

tf1 = tf.compat.v1

NUM_CLASSES = 5


@pytest.fixture(scope='module')
def checkpoint_and_reference(tmp_path_factory):
  """A random-weight cifarnet checkpoint and its probabilities on inputs."""
  ckpt_dir = tmp_path_factory.mktemp('ckpt')
  images_value = np.random.default_rng(1).uniform(
      -1, 1, [3, 32, 32, 3]).astype(np.float32)
  with tf.Graph().as_default():
    slim.get_or_create_global_step()
    images, _, end_points = export_inference_graph.build_inference_graph(
        'cifarnet', NUM_CLASSES)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      prefix = tf1.train.Saver().save(sess, str(ckpt_dir / 'model.ckpt'),
                                      global_step=7)
      expected = sess.run(end_points['Predictions'], {images: images_value})
  return prefix, images_value, expected


def test_saved_model_and_tflite_match_checkpoint(checkpoint_and_reference,
                                                 tmp_path):
  prefix, images_value, expected = checkpoint_and_reference
  output_dir = str(tmp_path / 'saved')
  export_saved_model.export_saved_model('cifarnet', NUM_CLASSES,
                                        os.path.dirname(prefix), output_dir)
  assert not [p for p in os.listdir(tmp_path) if p.startswith('.tmp')]
  with tf.Graph().as_default():
    with tf1.Session() as sess:
      meta = tf1.saved_model.loader.load(sess, ['serve'], output_dir)
      signature = meta.signature_def['serving_default']
      probabilities = sess.run(
          signature.outputs['probabilities'].name,
          {signature.inputs['images'].name: images_value})
  np.testing.assert_allclose(probabilities, expected, atol=1e-6)

  tflite_file = str(tmp_path / 'model.tflite')
  export_saved_model.convert_to_tflite(output_dir, tflite_file)
  interpreter = tf.lite.Interpreter(model_path=tflite_file)
  input_detail = interpreter.get_input_details()[0]
  interpreter.resize_tensor_input(input_detail['index'], [1, 32, 32, 3])
  interpreter.allocate_tensors()
  outputs = {d['name']: d['index'] for d in interpreter.get_output_details()}
  probabilities_index = [i for n, i in outputs.items()
                         if 'probabilities' in n][0]
  for i in range(len(images_value)):
    interpreter.set_tensor(input_detail['index'], images_value[i:i + 1])
    interpreter.invoke()
    np.testing.assert_allclose(interpreter.get_tensor(probabilities_index)[0],
                               expected[i], atol=1e-5)


def test_refuses_existing_output_and_bad_checkpoint(checkpoint_and_reference,
                                                    tmp_path):
  prefix, _, _ = checkpoint_and_reference
  with pytest.raises(ValueError, match='already exists'):
    export_saved_model.export_saved_model('cifarnet', NUM_CLASSES, prefix,
                                          str(tmp_path))
  with pytest.raises(ValueError, match='shape mismatch'):
    export_saved_model.export_saved_model('cifarnet', NUM_CLASSES + 1, prefix,
                                          str(tmp_path / 'other'))
  assert not os.path.exists(tmp_path / 'other')
