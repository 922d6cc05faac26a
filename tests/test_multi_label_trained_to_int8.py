"""A trained multi-label CifarNet, from its checkpoint to an int8 TFLite
file scored through classify_images.py: the mAP on files agrees with
eval_image_classifier.py's on the records.

The network learns shapes_multi (32x32 images showing 1 to 3 of 5 shapes)
for 400 Adam steps (scripts/shapes_multi_label.sh's settings), enough for real decisions (an mAP far above chance,
about 0.4) so that the agreement says something. The validation split goes
to PNG files with their labels (tools/dump_images.py), the SavedModel and
the int8 TFLite model classify them (classify_images.py --top_k=5: every
class's score), and tools/score_classifications.py scores the CSVs with the
same MultiLabelTally eval uses.
"""
import os

import pytest
import tensorflow as tf

from datasets import convert_shapes_multi
from datasets import dataset_factory
from datasets import label_csv
from tests import cli_harness as h
from tools import dump_images
from tools import model_info
from tools import score_classifications

train_image_classifier = h.script_module('train_image_classifier')
eval_image_classifier = h.script_module('eval_image_classifier')
export_saved_model = h.script_module('tools.export_saved_model')

NUM_CLASSES = 5
SPLITS = {'train': 1280, 'validation': 100}
MULTI = dict(dataset_name='shapes_multi')
RUN = dict(max_number_of_steps=400, batch_size=32, optimizer='adam',
           learning_rate=0.001, opt_epsilon=1e-8, seed=1,
           log_every_n_steps=100, **MULTI)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('shapes_multi'))
  convert_shapes_multi.run(directory, seed=0, num_shards=1, num_workers=0,
                           split_sizes=SPLITS)
  return directory


@pytest.fixture(scope='module')
def checkpoint(data, tmp_path_factory):
  train_dir = tmp_path_factory.mktemp('train')
  train_image_classifier.train(h.train_values(data, train_dir, **RUN))
  return tf.train.latest_checkpoint(str(train_dir))


@pytest.fixture(scope='module')
def eval_map(data, checkpoint, tmp_path_factory):
  result = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path_factory.mktemp('eval'), **MULTI),
      checkpoint)
  return result['mAP']


@pytest.fixture(scope='module')
def exported(data, checkpoint, tmp_path_factory):
  """(SavedModel folder, int8 TFLite file) of the trained checkpoint."""
  root = tmp_path_factory.mktemp('export')
  saved_model = str(root / 'saved')
  info = export_saved_model.export_saved_model(
      'cifarnet', NUM_CLASSES, checkpoint, saved_model,
      preprocessing_name='lenet',
      labels=model_info.class_names('shapes_multi', data, NUM_CLASSES),
      dataset_name='shapes_multi', multi_label=True)
  tflite_file = str(root / 'int8.tflite')
  export_saved_model.convert_to_tflite(
      saved_model, tflite_file, 'int8',
      calibration=export_saved_model.calibration_images(
          'shapes_multi', data, 'train', 64, info),
      input_type='uint8')
  return saved_model, tflite_file


@pytest.fixture(scope='module')
def validation_files(data, tmp_path_factory):
  """The validation split as PNG files; the labels.csv beside them."""
  folder = tmp_path_factory.mktemp('validation')
  with tf.Graph().as_default():
    paths = dump_images.dump_images(
        dataset_factory.get_dataset('shapes_multi', 'validation', data), 0,
        str(folder))
  assert len(paths) == SPLITS['validation']
  return str(folder), str(folder / dump_images.LABELS_CSV)


def test_dumped_labels_are_the_records(data, validation_files):
  folder, labels_csv = validation_files
  rows = label_csv.read_csv(labels_csv)
  assert len(rows) == SPLITS['validation']
  # The file names carry the labels too (00004_circle+cross.png, in class
  # id order; the CSV reader sorts them by name).
  for row in rows:
    named = os.path.basename(row.path)[6:-4]
    assert sorted(named.split('+')) == (list(row.class_names) or ['none'])
  # Every image has 1 to 3 shapes.
  assert {len(row.class_names) for row in rows} <= {1, 2, 3}
  assert os.path.dirname(rows[0].path) == folder


@pytest.fixture(scope='module')
def predictions(exported, validation_files, tmp_path_factory):
  """{model kind: the CSV classify_images.py wrote for the validation
  files}, every class's score (--top_k=5)."""
  folder, _ = validation_files
  out = tmp_path_factory.mktemp('predictions')
  csv_files = {}
  for kind, model in zip(('saved_model', 'int8'), exported):
    csv_files[kind] = str(out / f'{kind}.csv')
    run = h.run_script('classify_images.py', f'--model={model}',
                       f'--images={folder}', f'--top_k={NUM_CLASSES}',
                       f'--output={csv_files[kind]}', '--progress_bar=false')
    assert run.returncode == 0, run.stderr
  return csv_files


def test_int8_tflite_map_through_classify_is_within_1_point_of_eval(
    eval_map, predictions, validation_files):
  images = label_csv.read_csv(validation_files[1])
  figures = {}
  for kind, csv_file in predictions.items():
    _, figures[kind] = score_classifications.score(
        score_classifications.read_predictions(csv_file), images)
  print(f'eval mAP {eval_map:.4f}; through classify_images: SavedModel '
        f'{figures["saved_model"]["mAP"]:.4f}, int8 TFLite '
        f'{figures["int8"]["mAP"]:.4f}')
  assert eval_map > 0.6  # Chance is about 0.4.
  # The same float network on the same pixels (PNG is lossless).
  assert figures['saved_model']['mAP'] == pytest.approx(eval_map, abs=2e-3)
  assert abs(figures['int8']['mAP'] - eval_map) <= 0.01


def test_score_cli_prints_the_figures_and_refuses_strangers(
    predictions, validation_files, tmp_path):
  labels_csv = validation_files[1]
  run = h.run_script('tools/score_classifications.py',
                     f'--predictions={predictions["int8"]}',
                     f'--labels_csv={labels_csv}')
  assert run.returncode == 0, run.stderr
  assert run.stdout.startswith(f'{SPLITS["validation"]} images, '
                               f'{NUM_CLASSES} classes: mAP: ')
  # An image the labels do not list; a CSV that classify_images did not
  # write: one line each, exit 2.
  stranger = tmp_path / 'stranger.csv'
  stranger.write_text('image,rank,label,score\n/elsewhere/x.png,1,circle,0.9\n')
  not_predictions = tmp_path / 'not_predictions.csv'
  not_predictions.write_text('filename,labels\na.png,circle\n')
  for path, message in ((stranger, 'which --labels_csv does not list'),
                        (not_predictions, 'not a CSV of classify_images')):
    run = h.run_script('tools/score_classifications.py',
                       f'--predictions={path}', f'--labels_csv={labels_csv}')
    assert run.returncode == 2
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1
