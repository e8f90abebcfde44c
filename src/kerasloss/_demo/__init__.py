"""`kerasloss demo`: every loss family trained on real data, with pictures and a report.

Private: nothing in the package imports it except `kerasloss.__main__`, and it imports its
extra dependencies (scikit-learn, matplotlib, river; `pip install "kerasloss[demo]"`) only
inside the functions that use them, so `import kerasloss` never needs them.

One module per family (`cost`, `calibration`, `bpmll`, `center`, `triplet`, `margin`),
each with a `run(context) -> FamilyResult`; `common` holds the data, the small models
and the measures they share, `report` writes the terminal table, `results.json` and
`report.html`, and `cli` parses the command line and runs the families.
"""
