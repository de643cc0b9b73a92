"""The CLI's commands: small typed functions that tests call directly."""
