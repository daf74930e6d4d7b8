"""What each cloud supports: one capability table per cloud, read by every other layer."""
