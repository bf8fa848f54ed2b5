"""How often CREMA-D's crowd, rating by voice alone, agrees with the emotion the actor portrayed.

Usage: python3 benchmarks/corpora/crema_d_agreement.py ~/data/crema-d/summaryTable.csv

A clip agrees when the plurality of its voice-only votes (column VoiceVote, e.g. "A", or "S:N" when
tied) is exactly the portrayed emotion of its name (1001_DFA_ANG_XX). Prints the share of clips (WA),
the mean over the six classes (UA) and the per-class rates. Standard library only.
"""
import csv
import sys
from collections import Counter

LETTER = {"NEU": "N", "HAP": "H", "SAD": "S", "ANG": "A", "FEA": "F", "DIS": "D"}
NAME = {"N": "neutral", "H": "happy", "S": "sad", "A": "angry", "F": "fearful", "D": "disgust"}


def main(path):
    agree, total = Counter(), Counter()
    ties = 0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            portrayed = LETTER[row["FileName"].split("_")[2]]
            votes = row["VoiceVote"].split(":")
            ties += len(votes) > 1
            total[portrayed] += 1
            agree[portrayed] += votes == [portrayed]
    n = sum(total.values())
    wa = 100 * sum(agree.values()) / n
    ua = 100 * sum(agree[k] / total[k] for k in total) / len(total)
    print(f"{n} clips, {ties} with a tied voice vote")
    print(f"voice-only plurality equals the portrayed emotion: WA {wa:.2f} %, UA {ua:.2f} %")
    for k in sorted(total, key=lambda k: -agree[k] / total[k]):
        print(f"  {NAME[k]:8s} {100 * agree[k] / total[k]:5.1f} % of {total[k]}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
