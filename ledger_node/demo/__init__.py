"""The one-command demo: a three-agency consortium submits a realistic scenario with planted
problems through its gateways, and an audit must find exactly those problems."""
