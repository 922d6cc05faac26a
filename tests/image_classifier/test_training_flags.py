"""flag_groups/training_flags.py: train_image_classifier.py's flags become
the records of image_classifier/train_specs.py, field by field."""
import pytest

from flag_groups import training_flags
from image_classifier import cli
from image_classifier import optimization
from image_classifier import specs
from image_classifier import train_specs
from preprocessing import augment
from tests import cli_harness as h


def _values(**overrides):
  return h.train_values('/data', '/train', **overrides)


def test_optimizer_and_schedule_params_take_the_flags_of_their_names():
  # Every value distinct, so a field read from the wrong flag shows.
  names = (optimization.OptimizerParams._fields
           + optimization.ScheduleParams._fields)
  values = _values(**{name: 0.5 + i for i, name in enumerate(names)})
  got = (training_flags.optimizer_params(values)._asdict()
         | training_flags.schedule_params(values)._asdict())
  assert got == {name: 0.5 + i for i, name in enumerate(names)}


def test_training_spec_of_the_flags():
  values = _values(
      model_name='lenet', train_image_size=30, moving_average_decay=0.9,
      optimizer='adam', learning_rate_decay_type='cosine',
      max_number_of_steps=7, sync_replicas=True, replicas_to_aggregate=3,
      trainable_scopes='LeNet/fc4', weight_decay=0.25, batch_norm_decay=0.75,
      label_smoothing=0.125, quantize_delay=4, seed=11, mixup_alpha=0.3,
      summarize_gradients=True, checkpoint_path='/ckpt',
      checkpoint_exclude_scopes='LeNet/fc4', ignore_missing_vars=True,
      validation_split_name='validation', validation_every_n_steps=5,
      keep_best_checkpoints=2)
  spec = training_flags.training_spec(values)
  assert spec.data == specs.DataSpec('shapes', '/data', 'train', 0)
  assert spec.model == specs.ModelSpec('lenet', 'lenet', image_size=30,
                                       moving_average_decay=0.9)
  assert spec.inputs == specs.InputSpec(8, 1, 0, 1)
  assert spec.network == train_specs.NetworkTraining(0.25, 0.75, 0.125, 4)
  chain = spec.optimization
  assert (chain.optimizer, chain.decay_type, chain.max_number_of_steps,
          chain.sync_replicas, chain.replicas_to_aggregate,
          chain.trainable_scopes) == ('adam', 'cosine', 7, True, 3,
                                      'LeNet/fc4')
  assert chain.optimizer_params == training_flags.optimizer_params(values)
  assert chain.schedule == training_flags.schedule_params(values)
  assert (spec.train_dir, spec.seed) == ('/train', 11)
  assert spec.augmentation == augment.AugmentParams(mixup_alpha=0.3)
  assert spec.summaries == train_specs.SummarySpec(images=False,
                                                   gradients=True)
  assert spec.fine_tune == train_specs.FineTuneSpec('/ckpt', 'LeNet/fc4',
                                                    True)
  assert spec.validation == train_specs.ValidationSpec('validation', 5, 600,
                                                       2)


def test_an_augmentation_out_of_range_is_one_line():
  with pytest.raises(cli.UserError) as error:
    training_flags.augment_params(_values(random_erasing=1.5))
  assert str(error.value) == ('--random_erasing must be a probability '
                              'between 0 and 1; received 1.5.')
