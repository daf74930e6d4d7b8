"""The pure core: spec, validation rules, naming, policies, DSNs, capability tables. Imports no Pulumi or cloud SDK."""
