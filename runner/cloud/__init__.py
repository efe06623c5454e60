"""Cloud servers made for a run: api.py is the one module that talks to OpenStack
(openstacksdk); servers.py makes, waits for, keeps warm, deletes and cleans up a run's servers."""
