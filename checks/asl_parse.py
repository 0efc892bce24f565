"""Parse state machine definitions with moto's ASL parser (the AWS-grade ANTLR grammar that
the local stack executes with). Runs in the local stack's venv (moto pinned there).

Usage: python asl_parse.py DEFINITIONS.json   ({"file name": "definition text", ...})
Prints one line per problem; exit 1 when there is any.
"""

import json
import sys

from moto.stepfunctions.parser.asl.parse.asl_parser import (
    AmazonStateLanguageParser,
    ASLParserException,
)


def main() -> int:
    definitions = json.loads(open(sys.argv[1]).read())
    problems = 0
    for name, text in definitions.items():
        try:
            AmazonStateLanguageParser.parse(text)
        except ASLParserException as e:
            problems += 1
            for error in e.errors or ["no details"]:
                print(f"asl {name}: parser: {error}")
        except Exception as e:  # the preprocessor rejects what the grammar accepts
            problems += 1
            print(f"asl {name}: parser: {type(e).__name__}: {e}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
