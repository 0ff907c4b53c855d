"""Adapters: storage (memory, sqlite, postgres). Import the one you need from its module;
nothing here imports a database driver."""
