"""The quickstart notebook runs top to bottom (its code cells, in one namespace)."""

import json
import re

from tests.conftest import REPO


def test_quickstart_runs(synthetic_data_dir, tmp_path):
  notebook = json.loads((REPO / "notebooks" / "quickstart.ipynb").read_text())
  namespace = {}
  for cell in notebook["cells"]:
    if cell["cell_type"] != "code":
      continue
    source = "".join(cell["source"])
    # The parameters cell: point it at the session's world and a fresh workdir.
    source = re.sub(r'^data_dir = .*$', f"data_dir = {synthetic_data_dir!r}", source, flags=re.M)
    source = re.sub(r'^workdir = .*$', f"workdir = {str(tmp_path)!r}", source, flags=re.M)
    exec(compile(source, "quickstart.ipynb", "exec"), namespace)  # pylint: disable=exec-used
  assert namespace["result"]["step"] == namespace["total_steps"]
