"""The report's file names, importable without matplotlib (the results layout lists them)."""

FIGURE_FORMATS = ("png", "pdf")
FIGURES_README = "README.md"  # written where the figures' bytes change (bdnn.report.figures_readme)
