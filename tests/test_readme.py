"""The README's promises: its notebook example runs, and CI calls its test command."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_example_runs_and_shows_the_fix():
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    ratios = {k: m.first_last_ratio() for k, m in scope["runs"].items()}
    assert ratios["plain"] < 1e-3 < ratios["residual"]
    assert len(scope["last"]) == len(scope["runs"]["plain"].layers)


def test_the_two_commands_are_real():
    blocks = re.findall(r"```bash\n(.*?)```", README.split("## Two commands")[1].split("##")[0], re.S)
    assert [b.strip() for b in blocks] == ["pip install -r requirements.txt && streamlit run app.py",
                                           "bash scripts/test.sh"]
    assert (ROOT / "app.py").exists() and (ROOT / "requirements.txt").exists()
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    assert "pytest" in (ROOT / "scripts" / "test.sh").read_text()
