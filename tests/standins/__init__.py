"""Test and benchmark helpers that drive our local stand-ins (`localdev/<service>`): start one on a free port, make
inputs for it, look at what it did. Test-side code: these may import `mam`; the stand-ins themselves never do."""
