"""Review of storage changes: the diff of two plan documents, its dangers and its renderings.

Pure functions over ``divio-storage plan --format json`` documents; imports neither Pulumi nor a cloud SDK, so
a reviewer's tools (CI, bots) can use it on plans made elsewhere.
"""
