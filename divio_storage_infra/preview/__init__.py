"""The offline preview engine behind ``divio-storage plan``: mock run, stack-config reader, plan document, renderers."""
