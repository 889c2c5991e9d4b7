"""Put data/en_ko on sys.path so the corpus generator's modules (lexicon, english, korean, generate)
import in the tests."""

import sys
from pathlib import Path

EN_KO = Path(__file__).resolve().parents[2] / "data" / "en_ko"
if str(EN_KO) not in sys.path:
    sys.path.insert(0, str(EN_KO))
