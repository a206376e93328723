"""The Org API's endpoints, one module per section of seed 001 §3 (plus the event feed)."""
