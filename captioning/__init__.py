"""captioning: one-to-many ("vector to sequence") image captioning with minigrad.

    python -m captioning.demo            # make the data, train, evaluate, write runs/captioning/gallery.html
    python -m captioning.demo --image x.jpg --out runs/captioning    # caption a picture with that run's model

    from captioning import make_dataset, Vocab, CaptionModel
    splits = make_dataset(1000, 100, 100)                  # synthetic scenes with captions (captioning.data)
    vocab = Vocab.build(splits["train"].captions)
    model = CaptionModel(len(vocab))                       # CNN encoder -> image vector -> LSTM decoder
    loss = model.loss(splits["train"].images[:32], vocab.encode_batch(splits["train"].captions[:32]))

Importing the package only defines names: nothing is generated or trained until you call it.
"""

from captioning.data import Scene, Split, Vocab, make_dataset
from captioning.model import CaptionModel, Encoder
from captioning.options import Config

# The command's modules (demo, checkpoint, report) are not imported here: `python -m captioning.demo`
# would otherwise find the module already imported and warn.
__all__ = ["CaptionModel", "Config", "Encoder", "Scene", "Split", "Vocab", "make_dataset"]
