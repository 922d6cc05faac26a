"""tools/labels_file.py: both labels layouts, and the names of a model's
classes with the count checked."""
import pytest

from tools import labels_file


def test_reads_both_label_file_formats(tmp_path):
  slim_style = tmp_path / 'labels.txt'
  slim_style.write_text('0:circle\n1:square\n\n2:triangle\n')
  assert labels_file.read_labels(str(slim_style)) == {
      0: 'circle', 1: 'square', 2: 'triangle'}
  plain = tmp_path / 'plain.txt'
  plain.write_text('background\ntench\ngoldfish\n')
  assert labels_file.read_labels(str(plain)) == {
      0: 'background', 1: 'tench', 2: 'goldfish'}


def test_unreadable_files_name_the_flag(tmp_path):
  with pytest.raises(ValueError, match=r'--labels=.*missing.txt: cannot '
                     'read it'):
    labels_file.read_labels(str(tmp_path / 'missing.txt'))
  (tmp_path / 'binary.txt').write_bytes(b'\xff\xfe\x00bad')
  with pytest.raises(ValueError, match='is not a UTF-8 text file'):
    labels_file.read_labels(str(tmp_path / 'binary.txt'))


def test_class_labels_index_i_is_line_i():
  labels = {0: 'background', 1: 'tench', 2: 'goldfish'}
  assert labels_file.class_labels(labels, 3, 'l.txt') == [
      'background', 'tench', 'goldfish']


@pytest.mark.parametrize('labels, message', [
    ({0: 'tench', 1: 'goldfish'}, r'has 2 labels but the model gives 3 '
     'class scores; its class 0 is most likely `background`'),
    ({i: str(i) for i in range(5)}, 'has 5 labels but the model gives 3 '
     'class scores; pass the labels file'),
    ({1: 'a', 2: 'b', 3: 'c'}, r'numbers its labels 1..3 but the model\'s '
     r'classes are 0..2 \(no label 0\)'),
])
def test_class_labels_refuses_a_file_that_does_not_fit(labels, message):
  with pytest.raises(ValueError, match=message):
    labels_file.class_labels(labels, 3, 'l.txt')
