"""Start runs, send decisions, read state: `python starter.py --help`.

The same commands are installed as the `hitl` console script.
    python starter.py start approval --input '{"topic": "cats"}' --wait
    python starter.py inbox
    python starter.py resume RUN_ID --value '"approve"'
"""

from hitl.cli import console_main

if __name__ == "__main__":
    console_main()
