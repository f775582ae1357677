"""Runs README's "Use a trained model" Python lines, exactly as written there, on a model that
`runner export` wrote, and prints the class probabilities of each image as JSON.

usage: export_parity.py README.md EXPORT_DIR IMAGE...
EXPORT_DIR holds winner.pth and winner.json (the names README uses). The block run is the
```python block that follows the line `<!-- export-recipe -->` in README.
"""
import json
import os
import sys


def recipe(readme):
    text = open(readme, encoding="utf-8").read()
    start = text.index("<!-- export-recipe -->")
    start = text.index("```python\n", start) + len("```python\n")
    return text[start:text.index("```", start)]


def main():
    readme, folder, images = sys.argv[1], sys.argv[2], [os.path.abspath(p) for p in sys.argv[3:]]
    code = recipe(readme)
    os.chdir(folder)
    scope = {}
    exec(compile(code, "README.md (export recipe)", "exec"), scope)
    print(json.dumps({path: scope["classify"](path) for path in images}))


if __name__ == "__main__":
    main()
