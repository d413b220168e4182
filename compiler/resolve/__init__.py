"""From typed definitions to the artifact's parts: environment references and keys, model
aliases, endpoints, chains and proven-unambiguous routes, server settings, cloud settings,
and the checks across them (capacity, lint rules).

Run twice by `relay build`, with the environment and blind, so the environment is passed in
(`environment.py`), never read here. Never writes files (that is `emit`).
"""
