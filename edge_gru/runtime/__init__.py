"""Runtimes: TFLite interpreters (LiteRT, TFLite Micro) behind one API; no TensorFlow import."""
