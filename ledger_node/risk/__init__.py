"""Credit + risk supervision: named indicators over verified facts, a scorecard per taxpayer
with the evidence of every point, supervision tiers, and the reports (``risk.json``, the
dashboard). See docs/risk.md.
"""
