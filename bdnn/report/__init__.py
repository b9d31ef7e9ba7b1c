"""Figures and texts: the paper's Fig. 3 and Fig. 4, the transfer figures, the study's figures, claims.md and the study's report, and their HTML pages."""
