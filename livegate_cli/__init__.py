"""The `livegate` operator and developer command line."""
