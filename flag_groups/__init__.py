"""The scripts' flags: each group defined once (`common_flags`,
`compute_flags`, `training_flags`), with the functions that turn a
script's values of them into the typed records of image_classifier/specs.py
and image_classifier/train_specs.py. This package is the script layer:
nothing below it (image_classifier/, deployment/, tools/' modules, slim/)
sees a flag object.
"""
import sys

from absl import flags


def flags_module_name(module_name):
  """The name absl files a script's own flags under, for DEFINE_*'s
  `module_name` when a shared module defines flags for the script.

  Run as a script, a module's `__name__` is '__main__', but absl files the
  flags it defines under its path, sys.argv[0] (and looks up '__main__'
  there too): flags defined with module_name='__main__' would be shown by
  neither --help nor --helpfull, nor recorded by `module_flag_values`.
  """
  return sys.argv[0] if module_name == '__main__' else module_name


def module_flag_values(module_name):
  """{name: value} of the flags a script defined, for a reproducibility
  record (absl's own flags left out)."""
  return {f.name: f.value
          for f in flags.FLAGS.get_flags_for_module(module_name)}
