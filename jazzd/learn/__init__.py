"""The learning side: training, export to ONNX, evaluation, and the token step against Keras.
The only package that may import TensorFlow (the Pi does not install it); a test walks the
imports to hold that."""
