import sys
from pathlib import Path

# tests/ holds shared oracles (oracles.py, twins.py, strategies.py) imported by name.
sys.path.insert(0, str(Path(__file__).parent))
