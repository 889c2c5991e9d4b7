"""minigrad.nn: modules (layers), parameters, initialisers and the recurrent cells and layers."""

from minigrad.nn.parameter import Parameter  # isort: skip  (optim imports it from here)
from minigrad.nn import init
from minigrad.nn.layers import (
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minigrad.nn.module import Module, ModuleList, Sequential
from minigrad.nn.rnn import GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, RNNCell, SimpleRNN

from minigrad.nn import utils  # isort: skip  (last: it imports minigrad.optim, which imports Parameter)

__all__ = [
    "Parameter", "Module", "Sequential", "ModuleList", "Linear", "Embedding", "Dropout", "Conv2d",
    "MaxPool2d", "Flatten", "Identity", "ReLU", "Tanh", "Sigmoid", "Softmax", "init", "utils",
    "RNNCell", "LSTMCell", "GRUCell", "RNN", "SimpleRNN", "LSTM", "GRU", "Bidirectional",
]
