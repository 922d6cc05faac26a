"""Every bad file a user can hand the toolkit ends in one line (exit 2, no
traceback), and the user's files are left as they were: truncated or
corrupt checkpoints and .tflite models, records that do not decode, output
paths that are folders or cannot be written, a --dataset_dir that is a file,
a missing --labels file. And a killed SavedModel export never blocks the
rerun.
"""
import json
import os
import shutil
import subprocess
import sys

from PIL import Image
import pytest
import tensorflow as tf

import slim
from image_classifier import cli
from tests import cli_harness as h
from tools import tflite_file

export_saved_model = h.script_module('tools.export_saved_model')
eval_image_classifier = h.script_module('eval_image_classifier')

DATA_FILE = '.data-00000-of-00001'
MODEL_FLAGS = ['--model_name=cifarnet', '--preprocessing_name=lenet',
               '--dataset_name=shapes']


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=16,
                       validation=8)


def _copy_checkpoint(prefix, directory):
  os.makedirs(directory, exist_ok=True)
  for suffix in ('.index', DATA_FILE, '.meta'):
    shutil.copy(prefix + suffix, directory)
  return os.path.join(directory, os.path.basename(prefix))


@pytest.fixture(scope='module')
def bad_checkpoints(random_cifarnet, tmp_path_factory):
  """{'truncated', 'flipped', 'index'}: copies of the random CifarNet with
  its .data file cut in half, one of its bytes inverted, or its .index cut
  short."""
  root = tmp_path_factory.mktemp('bad_checkpoints')
  size = os.path.getsize(random_cifarnet + DATA_FILE)
  paths = {}
  paths['truncated'] = _copy_checkpoint(random_cifarnet, root / 'truncated')
  os.truncate(paths['truncated'] + DATA_FILE, size // 2)
  paths['flipped'] = _copy_checkpoint(random_cifarnet, root / 'flipped')
  with open(paths['flipped'] + DATA_FILE, 'r+b') as f:
    f.seek(size // 2)
    byte = f.read(1)[0]
    f.seek(size // 2)
    f.write(bytes([byte ^ 0xff]))
  paths['index'] = _copy_checkpoint(random_cifarnet, root / 'index')
  os.truncate(paths['index'] + '.index',
              os.path.getsize(random_cifarnet + '.index') // 2)
  return paths


# ------------------------------------------------------------ checkpoints
@pytest.mark.parametrize('suffix', ['', '.index', DATA_FILE, '.meta'])
def test_any_file_of_a_checkpoint_names_it(random_cifarnet, suffix):
  assert slim.variables.resolve_checkpoint_path(
      random_cifarnet + suffix) == random_cifarnet
  assert slim.variables.resolve_checkpoint_path(
      os.path.dirname(random_cifarnet)) == random_cifarnet


def test_a_checkpoint_file_without_its_index_is_refused(random_cifarnet,
                                                        tmp_path):
  shutil.copy(random_cifarnet + DATA_FILE, tmp_path)
  lone = str(tmp_path / os.path.basename(random_cifarnet + DATA_FILE))
  with pytest.raises(ValueError, match=r'index .*\.index is missing'):
    slim.variables.resolve_checkpoint_path(lone)


@pytest.mark.parametrize('case,bad_file', [
    ('truncated', DATA_FILE), ('flipped', DATA_FILE), ('index', '.index')])
def test_unreadable_checkpoint_names_the_file(bad_checkpoints, case,
                                              bad_file):
  prefix = bad_checkpoints[case]
  with pytest.raises(ValueError) as raised:
    slim.variables.check_checkpoint_readable(prefix)
  message = str(raised.value)
  assert '\n' not in message
  assert f'{prefix}{bad_file} is truncated or corrupt' in message


def test_readable_checkpoint_passes(random_cifarnet):
  slim.variables.check_checkpoint_readable(random_cifarnet)


def _checkpoint_command(script, checkpoint, data, tmp_path):
  """The arguments that make `script` read `checkpoint` first."""
  return {
      'train_image_classifier.py': MODEL_FLAGS + [
          f'--dataset_dir={data}', f'--train_dir={tmp_path / "train"}',
          f'--checkpoint_path={checkpoint}', '--max_number_of_steps=1',
          '--batch_size=2'],
      'eval_image_classifier.py': MODEL_FLAGS + [
          f'--dataset_dir={data}', '--dataset_split_name=validation',
          f'--eval_dir={tmp_path / "eval"}', f'--checkpoint_path={checkpoint}'],
      'tools/export_saved_model.py': MODEL_FLAGS + [
          f'--dataset_dir={data}', f'--checkpoint_path={checkpoint}',
          f'--output_dir={tmp_path / "saved"}'],
      'tools/freeze_graph.py': [
          f'--input_graph={tmp_path / "graph.pb"}', '--input_binary',
          f'--input_checkpoint={checkpoint}',
          f'--output_graph={tmp_path / "frozen.pb"}',
          '--output_node_names=CifarNet/Predictions/Reshape_1'],
      'classify_images.py': MODEL_FLAGS + [
          f'--dataset_dir={data}', f'--model={checkpoint}',
          f'--images={_image(tmp_path)}'],
  }[script]


def _image(tmp_path):
  """A real image: classify_images.py checks its images before it loads
  the model."""
  path = tmp_path / 'image.png'
  Image.new('RGB', (32, 32)).save(path)
  return str(path)


@pytest.mark.parametrize('script', [
    'train_image_classifier.py', 'eval_image_classifier.py',
    'tools/export_saved_model.py', 'tools/freeze_graph.py',
    'classify_images.py'])
def test_cli_truncated_checkpoint_is_one_line(script, bad_checkpoints, data,
                                              tmp_path):
  if script == 'tools/freeze_graph.py':
    result = h.run_script('export_inference_graph.py', '--model_name=cifarnet',
                          '--dataset_name=shapes', f'--dataset_dir={data}',
                          f'--output_file={tmp_path / "graph.pb"}')
    assert result.returncode == 0, result.stderr
  checkpoint_dir = os.path.dirname(bad_checkpoints['truncated'])
  before = h.file_hashes(checkpoint_dir)
  # The .data file itself, as a user might pass it.
  checkpoint = bad_checkpoints['truncated'] + DATA_FILE
  result = h.run_script(script, *_checkpoint_command(script, checkpoint,
                                                     data, tmp_path))
  message = h.user_error(result, os.path.basename(script))
  assert 'truncated or corrupt' in message, message
  assert bad_checkpoints['truncated'] + DATA_FILE in message
  assert h.file_hashes(checkpoint_dir) == before
  assert not os.path.exists(tmp_path / 'saved')
  assert not os.path.exists(tmp_path / 'frozen.pb')


def test_cli_bit_flipped_checkpoint_is_one_line(bad_checkpoints, data,
                                                tmp_path):
  before = h.file_hashes(os.path.dirname(bad_checkpoints['flipped']))
  result = h.run_script('eval_image_classifier.py', *_checkpoint_command(
      'eval_image_classifier.py', bad_checkpoints['flipped'], data,
      tmp_path))
  message = h.user_error(result, 'eval_image_classifier.py')
  assert bad_checkpoints['flipped'] + DATA_FILE + ' is truncated or corrupt' \
      in message, message
  assert 'Checksum' in message
  assert len(result.stderr.splitlines()) <= 3, result.stderr
  assert h.file_hashes(os.path.dirname(bad_checkpoints['flipped'])) == before


def test_eval_takes_the_data_file_of_a_good_checkpoint(random_cifarnet, data,
                                                       tmp_path):
  values = h.eval_values(data, tmp_path, checkpoint_path=(
      random_cifarnet + DATA_FILE))
  path, = eval_image_classifier.checkpoints_to_evaluate(values)
  assert path == random_cifarnet
  metrics = eval_image_classifier.evaluate(values, path)
  assert metrics['checkpoint'] == random_cifarnet


# ----------------------------------------------------------------- TFLite
@pytest.fixture(scope='module')
def tflite_model(random_cifarnet, tmp_path_factory):
  """A float .tflite of the random CifarNet with its .json record."""
  root = tmp_path_factory.mktemp('tflite')
  export_saved_model.export_saved_model(
      'cifarnet', h.NUM_CLASSES, random_cifarnet, str(root / 'saved'),
      preprocessing_name='lenet', dataset_name='shapes')
  path = str(root / 'model.tflite')
  export_saved_model.convert_to_tflite(str(root / 'saved'), path)
  return path


def test_tflite_check_passes_the_whole_model(tflite_model):
  tflite_file.check_tflite_file(tflite_model)


def test_tflite_check_refuses_every_truncation(tflite_model, tmp_path):
  data = open(tflite_model, 'rb').read()
  cut = tmp_path / 'cut.tflite'
  step = max(1, len(data) // 97)
  lengths = sorted(set(range(0, len(data), step)) | set(
      range(len(data) - 64, len(data))))
  for length in lengths:
    cut.write_bytes(data[:length])
    with pytest.raises(ValueError, match='truncated or damaged|not a TFLite'):
      tflite_file.check_tflite_file(str(cut))


def test_tflite_check_refuses_a_wrong_identifier(tflite_model, tmp_path):
  data = bytearray(open(tflite_model, 'rb').read())
  data[4:8] = b'XXXX'
  (tmp_path / 'm.tflite').write_bytes(bytes(data))
  with pytest.raises(ValueError, match='not a TFLite model'):
    tflite_file.check_tflite_file(str(tmp_path / 'm.tflite'))


def test_cli_truncated_tflite_is_one_line(tflite_model, data, tmp_path):
  model = str(tmp_path / 'cut.tflite')
  with open(tflite_model, 'rb') as f:
    content = f.read()
  with open(model, 'wb') as f:
    f.write(content[:len(content) // 2])
  shutil.copy(tflite_model + '.json', model + '.json')
  # A readable image: images pass their header check before the model
  # loads, so a file that is no image would be refused first.
  images = _image(tmp_path)
  before = h.file_hashes(tmp_path)
  result = h.run_script('classify_images.py', f'--model={model}',
                        f'--images={images}')
  assert result.returncode != -11, 'segmentation fault'
  message = h.user_error(result, 'classify_images.py')
  assert f'{model} is truncated or damaged' in message, message
  assert h.file_hashes(tmp_path) == before


# -------------------------------------------------- undecodable records
def _spoil_record(data, split, index, copy_to):
  """A copy of the dataset whose record `index` of the first file of
  `split` has a valid CRC but image bytes that are no image."""
  shutil.copytree(data, copy_to)
  name = sorted(n for n in os.listdir(copy_to) if f'_{split}_' in n)[0]
  path = os.path.join(copy_to, name)
  records = [r.numpy() for r in tf.data.TFRecordDataset(path)]
  example = tf.train.Example.FromString(records[index])
  example.features.feature['image/encoded'].bytes_list.value[0] = (
      b'these bytes are not an image')
  records[index] = example.SerializeToString()
  with tf.io.TFRecordWriter(path) as writer:
    for record in records:
      writer.write(record)
  return str(copy_to), path


# Training shuffles the repeated records (a buffer of 20 batches) before it
# decodes them, so each draw is the spoiled record with odds 1/16 (one of
# the 16 train records): 8 steps of 4 missed it 7% of the time; 50 steps of
# 4 miss it with odds (15/16)**200, about 3e-6.
STEPS = 50


def test_cli_train_names_the_undecodable_record(data, tmp_path):
  dataset_dir, spoiled = _spoil_record(data, 'train', 3, tmp_path / 'data')
  before = h.file_hashes(dataset_dir)
  result = h.run_script(
      'train_image_classifier.py', *MODEL_FLAGS, f'--dataset_dir={dataset_dir}',
      f'--train_dir={tmp_path / "train"}', f'--max_number_of_steps={STEPS}',
      '--batch_size=4', '--num_readers=1', '--num_preprocessing_threads=1')
  message = h.user_error(result, 'train_image_classifier.py')
  assert f'record 3 of {spoiled} does not decode' in message, message
  assert '--max_bad_records' in message
  assert h.file_hashes(dataset_dir) == before


def test_cli_train_skips_and_counts_with_max_bad_records(data, tmp_path):
  dataset_dir, spoiled = _spoil_record(data, 'train', 3, tmp_path / 'data')
  result = h.run_script(
      'train_image_classifier.py', *MODEL_FLAGS, f'--dataset_dir={dataset_dir}',
      f'--train_dir={tmp_path / "train"}', f'--max_number_of_steps={STEPS}',
      '--batch_size=4', '--num_readers=1', '--num_preprocessing_threads=1',
      '--max_bad_records=1')
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  assert (f'Training skipped 1 undecodable record(s) (first: {spoiled}:3)'
          in result.stderr), result.stderr
  assert h.checkpoint_step(tmp_path / 'train') == STEPS


def test_eval_skips_up_to_max_bad_records(data, random_cifarnet, tmp_path):
  dataset_dir, spoiled = _spoil_record(data, 'validation', 2,
                                       tmp_path / 'data')
  values = h.eval_values(dataset_dir, tmp_path / 'eval', max_bad_records=1)
  metrics = eval_image_classifier.evaluate(values, random_cifarnet)
  assert metrics['skipped_records'] == 1
  good = h.eval_values(data, tmp_path / 'eval_good')
  assert 'skipped_records' not in eval_image_classifier.evaluate(
      good, random_cifarnet)

  values = h.eval_values(dataset_dir, tmp_path / 'eval', max_bad_records=0)
  with pytest.raises(cli.UserError, match=f'record 2 of {spoiled} does '):
    eval_image_classifier.evaluate(values, random_cifarnet)


def test_eval_stops_past_max_bad_records(data, random_cifarnet, tmp_path):
  dataset_dir, _ = _spoil_record(data, 'validation', 2, tmp_path / 'data')
  dataset_dir, _ = _spoil_record(dataset_dir, 'validation', 5,
                                 tmp_path / 'data2')
  values = h.eval_values(dataset_dir, tmp_path / 'eval', max_bad_records=1)
  with pytest.raises(cli.UserError,
                     match=r'more than --max_bad_records=1 records'):
    eval_image_classifier.evaluate(values, random_cifarnet)


# ----------------------------------------------------- output paths etc.
def test_cli_bad_output_paths_are_one_line(data, random_cifarnet, tmp_path):
  a_file = tmp_path / 'a_file'
  a_file.write_text('mine')
  (tmp_path / 'a_folder').mkdir()
  graph = tmp_path / 'graph.pb'
  cases = [
      ('export_inference_graph.py', ['--model_name=cifarnet',
                                     f'--output_file={tmp_path / "a_folder"}'],
       'is a folder'),
      ('tools/export_saved_model.py', MODEL_FLAGS + [
          f'--dataset_dir={data}', f'--checkpoint_path={random_cifarnet}',
          f'--output_dir={a_file / "saved"}'], 'is a file, not a folder'),
      ('tools/export_saved_model.py', MODEL_FLAGS + [
          f'--dataset_dir={data}', f'--checkpoint_path={random_cifarnet}',
          f'--output_dir={tmp_path / "saved"}',
          f'--tflite_file={tmp_path / "a_folder"}'], 'is a folder'),
      ('tools/freeze_graph.py', [
          f'--input_graph={graph}', f'--input_checkpoint={random_cifarnet}',
          f'--output_graph={a_file / "frozen.pb"}',
          '--output_node_names=CifarNet/Predictions/Reshape_1'],
       'is a file, not a folder'),
      ('tools/label_image.py', [f'--graph={graph}',
                                f'--image={tmp_path / "x.png"}',
                                f'--labels={tmp_path / "missing.txt"}'],
       'missing.txt: cannot read it'),
      ('download_and_convert_data.py', ['--dataset_name=shapes',
                                        f'--dataset_dir={a_file}'],
       'is a file'),
  ]
  before = h.file_hashes(tmp_path)
  for script, args, expected in cases:
    message = h.user_error(h.run_script(script, *args),
                           os.path.basename(script))
    assert expected in message, (script, message)
  assert h.file_hashes(tmp_path) == before


# ------------------------------------------- a killed SavedModel export
def _dead_pid():
  process = subprocess.Popen([sys.executable, '-c', 'pass'])
  process.wait()
  return process.pid


def _export(checkpoint, output_dir, **kwargs):
  return export_saved_model.export_saved_model(
      'cifarnet', h.NUM_CLASSES, checkpoint, str(output_dir),
      preprocessing_name='lenet', **kwargs)


def test_export_replaces_what_a_killed_run_left(random_cifarnet, tmp_path):
  output_dir = tmp_path / 'saved'
  # A killed run's staging folder, and a partial export (a copy cut short
  # where renames are not atomic): no model_info.json.
  stale = tmp_path / f'.saved.tmp-{_dead_pid()}-x1y2'
  (stale / 'variables').mkdir(parents=True)
  (output_dir / 'variables').mkdir(parents=True)
  (output_dir / 'saved_model.pb').write_bytes(b'partial')
  info = _export(random_cifarnet, output_dir)
  assert sorted(os.listdir(tmp_path)) == ['saved']
  with open(output_dir / 'assets.extra' / 'model_info.json') as f:
    assert json.load(f)['model_name'] == info.model_name


def test_remote_export_is_complete_only_with_its_record(random_cifarnet):
  # ram:// as an object store: no folder rename, so the export is copied
  # into place with model_info.json last. A partial export (no record) and
  # a killed run's staging are replaced; a complete one needs --overwrite.
  gfile = tf.io.gfile
  parent = 'ram://bad_files_export'
  output_dir = f'{parent}/saved'
  stale = f'{parent}/.saved.tmp-{_dead_pid()}-x1y2'
  for path in (f'{stale}/variables/x', f'{output_dir}/saved_model.pb'):
    gfile.makedirs(path.rsplit('/', 1)[0])
    with gfile.GFile(path, 'wb') as f:
      f.write(b'partial')
  info = _export(random_cifarnet, output_dir)
  assert [name.rstrip('/') for name in gfile.listdir(parent)] == ['saved']
  record = f'{output_dir}/assets.extra/model_info.json'
  with gfile.GFile(record) as f:
    assert json.load(f)['model_name'] == info.model_name
  with pytest.raises(ValueError, match='already holds a SavedModel'):
    _export(random_cifarnet, output_dir)
  gfile.rmtree(parent)


def test_export_keeps_the_staging_of_a_running_export(random_cifarnet,
                                                      tmp_path):
  running = subprocess.Popen([sys.executable, '-c',
                              'import time; time.sleep(60)'])
  try:
    theirs = tmp_path / f'.saved.tmp-{running.pid}-a1b2'
    theirs.mkdir()
    _export(random_cifarnet, tmp_path / 'saved')
    assert theirs.is_dir()
  finally:
    running.kill()
    running.wait()


def test_export_refuses_a_complete_one_unless_overwrite(random_cifarnet,
                                                        tmp_path):
  output_dir = tmp_path / 'saved'
  _export(random_cifarnet, output_dir)
  before = h.file_hashes(output_dir)
  with pytest.raises(ValueError, match='pass --overwrite'):
    _export(random_cifarnet, output_dir)
  assert h.file_hashes(output_dir) == before
  _export(random_cifarnet, output_dir, overwrite=True, top_k=2)
  assert h.file_hashes(output_dir) != before
  assert sorted(os.listdir(tmp_path)) == ['saved']


def test_export_never_replaces_a_folder_of_other_files(random_cifarnet,
                                                       tmp_path):
  (tmp_path / 'mine.txt').write_text('mine')
  with pytest.raises(ValueError, match='is not a SavedModel export'):
    _export(random_cifarnet, tmp_path, overwrite=True)
  assert os.listdir(tmp_path) == ['mine.txt']


def test_export_killed_during_tflite_leaves_no_output(random_cifarnet,
                                                      tmp_path):
  output_dir = tmp_path / 'saved'

  def killed(staging, info):
    del info
    assert os.path.isfile(os.path.join(staging, 'saved_model.pb'))
    raise KeyboardInterrupt

  with pytest.raises(KeyboardInterrupt):
    _export(random_cifarnet, output_dir, before_publish=killed)
  assert os.listdir(tmp_path) == []
  _export(random_cifarnet, output_dir)
  assert os.path.isfile(output_dir / 'saved_model.pb')
