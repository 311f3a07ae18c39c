"""Build the demo dataset shipped in ``src/clsmap/resources/``.

A few semantically close WordNet noun supersenses, sampled with a fixed seed from
``../shared/data/wordnet_supersense.csv`` (WordNet 3.0, from Debian's ``wordnet-base``).
The WordNet licence travels with the file as ``LICENSE-wordnet.txt``.

    python scripts/make_demo_data.py ../shared/data/wordnet_supersense.csv
"""

import shutil
import sys
from pathlib import Path

import pandas as pd

CLASSES = ["noun.animal", "noun.plant", "noun.food", "noun.substance", "noun.body", "noun.object"]
PER_CLASS = 500


def main(src: str) -> None:
    frame = pd.read_csv(src)
    frame = frame[frame["label"].isin(CLASSES)]
    frame = frame[frame["text"].str.len().between(15, 200)]
    sample = (
        frame.groupby("label", group_keys=False)
        .sample(n=PER_CLASS, random_state=0)
        .sample(frac=1.0, random_state=0)
        .reset_index(drop=True)
    )
    sample.insert(0, "id", [f"wn{i:05d}" for i in range(len(sample))])
    out = Path(__file__).resolve().parents[1] / "src" / "clsmap" / "resources"
    sample[["id", "text", "label", "lemma"]].to_csv(out / "wordnet_demo.csv", index=False)
    shutil.copy(Path(src).with_name("LICENSE-wordnet.txt"), out / "LICENSE-wordnet.txt")


if __name__ == "__main__":
    main(sys.argv[1])
