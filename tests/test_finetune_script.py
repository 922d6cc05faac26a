"""scripts/finetune_on_image_folder.sh, run by bash end to end on a tiny
folder of images, with a Keras-layout weights file of random values (the
published files cannot be downloaded here; tests/nets/keras_twins writes
one in their legacy .h5 layout, as tests/nets/test_efficientnet.py does) as KERAS_WEIGHTS, at 64x64 and 2 steps a
stage.

What it must do: import the file, train the new classifier alone from it
(every other weight stays the imported one), then every layer from there,
and evaluate.
"""
import os
import subprocess

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf

from tests import cli_harness as h
from tests.nets import test_efficientnet

pytestmark = pytest.mark.slow

SCRIPT = os.path.join(h.ROOT, 'scripts', 'finetune_on_image_folder.sh')
# The script's default network.
MODEL = 'efficientnet_b0'
CLASSES = ('red', 'blue')
# Per class: the converter holds 10% out, so 10 images give 1 each.
IMAGES_PER_CLASS = 10
RUN = dict(HEAD_STEPS='2', STEPS='2', BATCH='2', SIZE='64',
           WARMUP_EPOCHS='0')


def _image_folder(root):
  """CLASSES sub-folders of 64x64 PNGs, mostly of the class's colour."""
  rng = np.random.default_rng(0)
  for channel, name in ((0, 'red'), (2, 'blue')):
    os.makedirs(os.path.join(root, name))
    for i in range(IMAGES_PER_CLASS):
      pixels = rng.integers(0, 80, [64, 64, 3], np.uint8)
      pixels[..., channel] += 150
      Image.fromarray(pixels).save(os.path.join(root, name, f'{i}.png'))
  return str(root)


def test_imports_trains_head_then_all_and_evaluates(tmp_path):
  # The twin's file holds the published input normalisation, as the
  # import requires.
  twin = test_efficientnet._twin(MODEL, tmp_path)  # pylint: disable=protected-access
  source = _image_folder(tmp_path / 'photos')
  train_dir = tmp_path / 'train'
  checkpoint_dir = tmp_path / 'checkpoints'
  env = dict(os.environ, PYTHON=h.PYTHON, KERAS_WEIGHTS=twin.legacy_h5,
             CHECKPOINT_DIR=str(checkpoint_dir), TF_CPP_MIN_LOG_LEVEL='3',
             **RUN)
  result = subprocess.run(
      ['bash', SCRIPT, source, '', str(tmp_path / 'data'), str(train_dir)], cwd=h.ROOT, env=env, capture_output=True, text=True,
      timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Accuracy: ' in result.stdout

  imported = h.read_checkpoint(checkpoint_dir / f'{MODEL}_imported.ckpt')
  head = h.read_checkpoint(train_dir / 'head')
  logits = f'{MODEL}/Logits/Conv2d_1c_1x1/weights'
  assert imported[logits].shape[-1] == 1000
  assert head[logits].shape[-1] == len(CLASSES)
  # The head stage trained the classifier alone, from the imported weights.
  stem = f'{MODEL}/stem/conv/weights'
  np.testing.assert_array_equal(head[stem], imported[stem])
  # The second stage trained every layer from the head stage's weights.
  assert h.checkpoint_step(train_dir / 'all') == 2
  everything = h.read_checkpoint(train_dir / 'all')
  assert not np.array_equal(everything[stem], imported[stem])
  assert tf.io.gfile.exists(str(train_dir / 'all' / 'eval' / 'index.html'))
