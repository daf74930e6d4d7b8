"""Test helpers shared by the groups: the emulator launchers, the declared-resource applier, the policy linter."""
