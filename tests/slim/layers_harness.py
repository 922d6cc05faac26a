"""Graph helpers the layer tests share (the numpy side is layers_reference)."""
import tensorflow as tf

tf1 = tf.compat.v1


def run_initialized(fetches, feed=None):
  """Runs `fetches` in a new session of the default graph, variables
  initialized first."""
  with tf1.Session() as sess:
    sess.run(tf1.global_variables_initializer())
    return sess.run(fetches, feed)


def variable_names(collection=tf1.GraphKeys.GLOBAL_VARIABLES):
  """The op names of the variables in `collection`, in collection order."""
  return [v.op.name for v in tf1.get_collection(collection)]
