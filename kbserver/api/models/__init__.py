"""The API's response bodies as Pydantic models: what the OpenAPI document promises, and what is checked."""
