"""label_image.py and classify_images.py refuse an image with too many pixels
from its header, before decoding it: one line naming the file, its size and
--max_image_pixels, and no memory spent on its pixels.

The image is a real 20000x20000 PNG of a few tens of KB (decoded to RGB it
would take 1.2 GB; with the limit raised, classify_images.py peaked at
6.7 GB). Each script runs in a fresh wrapper process whose only child it
is, so the peak RSS measured is the script's own. The header is checked
before TensorFlow is loaded (whose import alone takes several hundred MB),
so refusing the image stays under MAX_RSS_MB in all.
"""
import os

from PIL import Image
import pytest
import tensorflow as tf

from tests import cli_harness as h
from tests import hostile_images
from tools import graph_io

MAX_RSS_MB = 200


@pytest.fixture(scope='module')
def images(tmp_path_factory):
  """{'huge': 20000x20000 PNG, 'small': 2x2 PNG, 'folder': both}."""
  root = tmp_path_factory.mktemp('hostile')
  folder = root / 'folder'
  folder.mkdir()
  hostile_images.write_huge_png(str(folder / 'huge.png'))
  Image.new('RGB', (2, 2), (200, 10, 10)).save(folder / 'small.png')
  return {'huge': str(folder / 'huge.png'),
          'small': str(folder / 'small.png'), 'folder': str(folder)}


def _run(tmp_path, script, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONUNBUFFERED='1')
  return hostile_images.peak_rss_mb(
      [h.PYTHON, h.script_path(script)] + list(args),
      tmp_path / 'rss.json', cwd=h.ROOT, env=env)


def _assert_refused_cheaply(tmp_path, script, images, *args):
  """Runs `script` on the huge image: a one-line error naming its size and
  the flag, with a peak RSS under MAX_RSS_MB; then on the small one with a
  limit of one pixel, refused alike."""
  flag = '--image' if 'label_image' in script else '--images'
  huge, huge_rss = _run(tmp_path, script, *args, f'{flag}={images["huge"]}')
  message = h.user_error(huge, script)
  assert images['huge'] in message
  assert '20000x20000 = 400,000,000 pixels' in message
  assert 'over the limit of 89,478,485 pixels' in message
  assert '--max_image_pixels=400000000' in message
  assert huge_rss < MAX_RSS_MB, huge_rss
  small, _ = _run(tmp_path, script, *args, '--max_image_pixels=1',
                  f'{flag}={images["small"]}')
  assert '2x2 = 4 pixels is over the limit of 1 pixels' in h.user_error(
      small, script)


@pytest.mark.slow
def test_label_image_refuses_a_huge_image_before_decoding(images, tmp_path):
  with tf.Graph().as_default() as graph:
    inputs = tf.compat.v1.placeholder(tf.float32, [1, 8, 8, 3], name='input')
    tf.identity(tf.reduce_mean(inputs, [1, 2]), name='output')
  graph_io.write_graph_def(graph.as_graph_def(), str(tmp_path / 'graph.pb'))
  _assert_refused_cheaply(tmp_path, 'tools/label_image.py', images,
                          f'--graph={tmp_path / "graph.pb"}',
                          '--output_layer=output')


@pytest.mark.slow
def test_classify_images_refuses_a_huge_image_before_decoding(
    images, random_cifarnet, tmp_path):
  # flowers: 5 classes, like the checkpoint.
  _assert_refused_cheaply(
      tmp_path, 'classify_images.py', images,
      f'--model={os.path.dirname(random_cifarnet)}', '--model_name=cifarnet',
      '--dataset_name=flowers')


@pytest.mark.slow
def test_classify_images_skips_a_huge_image_among_others(
    images, random_cifarnet, tmp_path):
  result = h.run_script(
      'classify_images.py', f'--model={os.path.dirname(random_cifarnet)}',
      '--model_name=cifarnet', '--dataset_name=flowers',
      f'--images={images["folder"]}')
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  skipped = [line for line in result.stderr.splitlines()
             if line.startswith('skipped unreadable image')]
  assert skipped == [
      f'skipped unreadable image {images["huge"]}: 20000x20000 = '
      '400,000,000 pixels is over the limit of 89,478,485 pixels; pass '
      '--max_image_pixels=400000000 to read it if you trust the file']
  assert result.stdout.startswith(images['small'] + ': ')
  assert 'Classified 1 images' in result.stdout
