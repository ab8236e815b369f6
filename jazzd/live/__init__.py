"""The playing side: the player and its settings, the ports, the input reader, the keyboard, the
clocks, the performer and the timing thread. Needs onnxruntime (through the engine), never
TensorFlow."""
